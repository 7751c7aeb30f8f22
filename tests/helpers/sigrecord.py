"""Records every signal it receives, one `NAME sender-pid` line each, in LOG.
Writes its pid to READY once its signals are blocked, so a test knows when to
signal. Exits on SIGTERM with code 0; the environment may change that:
EXIT_ON names the signal to exit on (`none`: never), EXIT_CODE the code.
With HEARTBEAT set, it rewrites that file with a growing count every 100 ms,
so a test can see it is still alive at a given time."""
import os
import signal
import sys

log_path, ready_path = sys.argv[1], sys.argv[2]
exit_on = os.environ.get("EXIT_ON", "SIGTERM")
exit_code = int(os.environ.get("EXIT_CODE", "0"))
heartbeat = os.environ.get("HEARTBEAT")
wanted = signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD}
signal.pthread_sigmask(signal.SIG_BLOCK, wanted)


def publish(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def name(signo):
    try:
        return signal.Signals(signo).name
    except ValueError:
        return str(signo)


publish(ready_path, str(os.getpid()))
beats = 0
with open(log_path, "a", buffering=1) as log:
    while True:
        if heartbeat:
            beats += 1
            publish(heartbeat, str(beats))
            info = signal.sigtimedwait(wanted, 0.1)
        else:
            info = signal.sigwaitinfo(wanted)
        if info is None:
            continue
        log.write(f"{name(info.si_signo)} {info.si_pid}\n")
        if name(info.si_signo) == exit_on:
            sys.exit(exit_code)
