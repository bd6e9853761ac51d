"""The reconciler: repairs what got stuck across services, once per schedule tick, under a lease."""
