"""Records every signal it receives, one `NAME sender-pid` line each, in LOG.
Writes its pid to READY once its signals are blocked, so a test knows when to
signal. Exits 0 on SIGTERM (or with EXIT_ON's code when given)."""
import os
import signal
import sys

log_path, ready_path = sys.argv[1], sys.argv[2]
wanted = signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD}
signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
with open(ready_path + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(ready_path + ".tmp", ready_path)


def name(signo):
    try:
        return signal.Signals(signo).name
    except ValueError:
        return str(signo)


with open(log_path, "a", buffering=1) as log:
    while True:
        info = signal.sigwaitinfo(wanted)
        log.write(f"{name(info.si_signo)} {info.si_pid}\n")
        if info.si_signo == signal.SIGTERM:
            sys.exit(0)
