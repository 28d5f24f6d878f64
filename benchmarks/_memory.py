"""Memory readings shared by the benchmarks (Linux only)."""


def memory_mib(field):
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MiB.

    ``VmHWM`` belongs to the address space, so unlike getrusage's ``maxrss``
    it does not inherit the parent's peak through fork and exec.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")
