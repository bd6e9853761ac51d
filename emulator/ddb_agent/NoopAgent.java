/**
 * A Java agent that does nothing. LocalStack starts DynamoDB Local with a -javaagent it would
 * download from GitHub (a patch for more than 20 GSIs per table); orderflow has no such tables,
 * so this stands in for it and keeps the emulator offline. See emulator/ctl.py.
 */
public final class NoopAgent {
    private NoopAgent() {}

    public static void premain(String args) {}
}
