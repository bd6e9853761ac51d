"""The idle event-source pollers' waits (``wakes.py``): they return as soon as there is
something to poll, give up after their timeout or when their mapping stops, and never hold up
the queue they wait on."""

from __future__ import annotations

import queue
import threading

from orderflow_hostexec.wakes import Wakes, wait_until_ready

BOUND_S = 10.0  # a bound for threads that should finish at once, never a pause


def in_thread(target: object) -> tuple[threading.Thread, list[object]]:
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(target()), daemon=True)  # type: ignore[operator]
    thread.start()
    return thread, results


def test_a_queue_holding_a_message_is_ready_at_once() -> None:
    waiting: queue.Queue[str] = queue.Queue()
    waiting.put("message")
    assert wait_until_ready(waiting, timeout_s=BOUND_S) is True


def test_a_message_put_while_waiting_ends_the_wait_and_the_put_is_not_held_up() -> None:
    waiting: queue.Queue[str] = queue.Queue()
    started = threading.Event()

    def wait() -> bool:
        started.set()
        return wait_until_ready(waiting, timeout_s=60)

    waiter, results = in_thread(wait)
    started.wait(BOUND_S)
    putter, _ = in_thread(lambda: waiting.put("message"))
    putter.join(BOUND_S)
    assert not putter.is_alive()  # the waiter does not hold the queue's lock
    waiter.join(BOUND_S)
    assert results == [True]
    assert waiting.qsize() == 1  # waiting takes nothing


def test_an_empty_queue_is_not_ready_after_the_timeout() -> None:
    assert wait_until_ready(queue.Queue(), timeout_s=0.01) is False


def test_a_stopped_mapping_stops_waiting() -> None:
    stop = threading.Event()
    waiter, results = in_thread(lambda: wait_until_ready(queue.Queue(), 60, stop, slice_s=0.01))
    stop.set()
    waiter.join(BOUND_S)
    assert results == [False]


def test_a_batch_wait_ends_when_the_batch_is_there_and_not_before() -> None:
    # Given a batching window's wait for 3 messages on a queue holding 1
    waiting: queue.Queue[str] = queue.Queue()
    waiting.put("first")
    started = threading.Event()

    def wait() -> bool:
        started.set()
        return wait_until_ready(waiting, timeout_s=60, at_least=3)

    waiter, results = in_thread(wait)
    started.wait(BOUND_S)

    # When a second message comes, it still waits; when the third does, it ends
    waiting.put("second")
    waiter.join(0.2)
    assert waiter.is_alive() and results == []
    waiting.put("third")
    waiter.join(BOUND_S)
    assert results == [True]
    assert waiting.qsize() == 3  # waiting takes nothing


def test_a_batch_wait_gives_up_at_its_window_with_what_there_is() -> None:
    waiting: queue.Queue[str] = queue.Queue()
    waiting.put("only")
    assert wait_until_ready(waiting, timeout_s=0.01, at_least=10) is False
    assert waiting.qsize() == 1


def test_a_wake_since_what_the_poller_saw_ends_its_wait_at_once() -> None:
    wakes = Wakes()
    seen = wakes.generation
    wakes.wake()
    assert wakes.wait_for(seen, timeout_s=BOUND_S) is True


def test_a_wake_while_waiting_ends_the_wait() -> None:
    wakes = Wakes()
    seen = wakes.generation
    waiter, results = in_thread(lambda: wakes.wait_for(seen, timeout_s=60))
    wakes.wake()
    waiter.join(BOUND_S)
    assert results == [True]


def test_no_wake_is_a_timeout_and_a_stop_ends_the_wait() -> None:
    wakes = Wakes()
    assert wakes.wait_for(wakes.generation, timeout_s=0.01) is False
    stop = threading.Event()
    waiter, results = in_thread(lambda: wakes.wait_for(wakes.generation, 60, stop, slice_s=0.01))
    stop.set()
    waiter.join(BOUND_S)
    assert results == [False]
