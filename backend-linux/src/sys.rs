//! Raw Linux syscalls: `clone3` into new namespaces, pidfds, `setns`, signals.
//!
//! The child side of [`spawn`] runs between `clone3` and `execve` in a copy of one thread of a
//! multi-threaded process, so it only makes raw syscalls on data prepared before the clone: no
//! allocation, no locks, no `std` I/O.

#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

/// SIGKILL.
pub const SIGKILL: i32 = 9;
/// SIGTERM.
pub const SIGTERM: i32 = 15;

/// Sends `signal` to `pid`; errors are ignored (the process may be gone already).
#[cfg(unix)]
pub fn kill(pid: u32, signal: i32) {
    let Ok(pid) = i32::try_from(pid) else { return };
    if pid <= 0 {
        return; // never 0 or -1: those mean "my group" and "everyone"
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Sends `signal` to `pid`; a no-op where there are no signals.
#[cfg(not(unix))]
pub fn kill(_pid: u32, _signal: i32) {}

#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::CString;
    use std::fs::File;
    use std::io::{self, Read, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    /// `CLONE_PIDFD`.
    pub const CLONE_PIDFD: u64 = 0x1000;
    /// `CLONE_INTO_CGROUP` (not in every libc release).
    pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    const P_PIDFD: libc::idtype_t = 3;
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 4;

    /// The kernel's `struct clone_args` (version 2, with `cgroup`).
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }

    /// `struct ifreq` with the flags member (40 bytes on 64-bit Linux).
    #[repr(C)]
    struct IfreqFlags {
        name: [u8; 16],
        flags: libc::c_short,
        _pad: [u8; 22],
    }

    /// What the child does before `execve` (or before pausing, for a sandbox).
    #[derive(Debug, Default)]
    pub struct ChildSetup {
        /// Namespaces to join (`/proc/<sandbox>/ns/*` files) with their `CLONE_NEW*` type.
        pub join: Vec<(File, i32)>,
        /// New hostname (needs a UTS namespace of its own or a joined one).
        pub hostname: Option<Vec<u8>>,
        /// Bring `lo` up (a fresh network namespace has it down).
        pub loopback_up: bool,
        /// Make `/` recursively private and mount a fresh `/proc` (new mount + PID namespace).
        pub fresh_proc: bool,
        /// Mount a private tmpfs on `/tmp` (new mount namespace; after `fresh_proc` made `/`
        /// private, so nothing propagates to the host). The workload program keeps its health
        /// files there for exec probes.
        pub private_tmp: bool,
        /// After joining the namespaces in `join`, fork once more and run the rest (stdio, exec)
        /// in the grandchild: joining a PID namespace only places the caller's *children* in it.
        /// The intermediate process waits for the grandchild and exits as it did (128 + signal
        /// when killed), so its pidfd reports the grandchild's outcome; the grandchild dies with
        /// it (`PR_SET_PDEATHSIG`). Used for exec probes inside a container.
        pub fork_exec: bool,
        /// Written to `/proc/self/oom_score_adj`.
        pub oom_score_adj: Option<i64>,
        /// stdout and stderr go here (stdin is `/dev/null`).
        pub log: Option<File>,
        /// `execve(path, argv, envp)`; `None` = stay as a sandbox holder, pausing until killed.
        pub exec: Option<Exec>,
    }

    /// A program to run.
    #[derive(Debug, Clone)]
    pub struct Exec {
        /// Absolute path.
        pub path: String,
        /// argv, including argv\[0\].
        pub argv: Vec<String>,
        /// Environment, `KEY=value`.
        pub env: Vec<String>,
    }

    /// A process created by [`spawn`].
    #[derive(Debug)]
    pub struct Spawned {
        /// Pid in our namespace.
        pub pid: u32,
        /// Its pidfd: exit notification and race-free signals.
        pub pidfd: OwnedFd,
    }

    /// How a child ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum ExitStatus {
        /// `exit(code)`.
        Exited(i32),
        /// Killed by a signal.
        Signaled(i32),
    }

    impl ExitStatus {
        /// Exit code as the kubelet reports it: 128 + signal when killed.
        pub fn code(self) -> i32 {
            match self {
                ExitStatus::Exited(c) => c,
                ExitStatus::Signaled(s) => 128 + s,
            }
        }
        /// The killing signal.
        pub fn signal(self) -> Option<i32> {
            match self {
                ExitStatus::Exited(_) => None,
                ExitStatus::Signaled(s) => Some(s),
            }
        }
    }

    fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two fds into the array we own.
        let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both fds were just created and are owned by nobody else.
        Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    }

    /// Which setup step failed in the child (reported through the status pipe).
    pub fn step_name(step: u32) -> &'static str {
        match step {
            1 => "setns",
            2 => "sethostname",
            3 => "make / private",
            4 => "mount /proc",
            5 => "bring lo up",
            6 => "write oom_score_adj",
            7 => "redirect stdio",
            8 => "execve",
            9 => "mount /tmp",
            10 => "fork into the PID namespace",
            _ => "unknown step",
        }
    }

    /// Creates a process with `clone3(flags | CLONE_PIDFD)` that runs `setup`. `before_go` runs
    /// in the parent once the pid is known and before the child proceeds (cgroup attach on v1);
    /// if it fails the child is killed. On success the child has exec'd (or is pausing).
    ///
    /// Call from a long-lived thread: the child's `PR_SET_PDEATHSIG` fires when *this thread* exits.
    pub fn spawn(
        flags: u64,
        cgroup_dir: Option<&File>,
        setup: ChildSetup,
        before_go: impl FnOnce(u32) -> io::Result<()>,
    ) -> io::Result<Spawned> {
        // Everything the child touches is prepared here.
        let exec_data = match &setup.exec {
            Some(e) => {
                let cs = |s: &str| CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
                let path = cs(&e.path)?;
                let argv: Vec<CString> = e.argv.iter().map(|a| cs(a)).collect::<io::Result<_>>()?;
                let env: Vec<CString> = e.env.iter().map(|a| cs(a)).collect::<io::Result<_>>()?;
                Some((path, argv, env))
            }
            None => None,
        };
        let ptrs = |v: &Vec<CString>| -> Vec<*const libc::c_char> {
            v.iter().map(|c| c.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
        };
        let exec_ptrs = exec_data.as_ref().map(|(p, a, e)| (p.as_ptr(), ptrs(a), ptrs(e)));
        let oom_text = setup.oom_score_adj.map(|v| v.to_string().into_bytes());
        // Read-write: it is stdin and, without a log, stdout and stderr (a read-only stdout makes
        // every write fail, and `cat` in an exec probe exit 1).
        let devnull = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
        let (go_read, go_write) = pipe()?;
        let (status_read, status_write) = pipe()?;
        let proc_path = c"/proc";
        let oom_path = c"/proc/self/oom_score_adj";
        let proc_fs = c"proc";
        let root = c"/";
        let tmp_path = c"/tmp";
        let tmpfs = c"tmpfs";
        let tmp_options = c"mode=1777,size=4m";

        let mut pidfd: libc::c_int = -1;
        let mut args = CloneArgs {
            flags: flags | CLONE_PIDFD | if cgroup_dir.is_some() { CLONE_INTO_CGROUP } else { 0 },
            pidfd: &mut pidfd as *mut libc::c_int as u64,
            exit_signal: libc::SIGCHLD as u64,
            ..CloneArgs::default()
        };
        if let Some(dir) = cgroup_dir {
            args.cgroup = dir.as_raw_fd() as u64;
        }
        // SAFETY: clone3 with stack 0 behaves like fork. `args` lives across the call; the child
        // only runs `child_after_clone`, which makes raw syscalls on data prepared above.
        let ret = unsafe {
            libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>())
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        if ret == 0 {
            // Child.
            let raw = RawChild {
                go_read: go_read.as_raw_fd(),
                go_write: go_write.as_raw_fd(),
                status_read: status_read.as_raw_fd(),
                status_write: status_write.as_raw_fd(),
                join: &setup.join,
                hostname: setup.hostname.as_deref(),
                loopback_up: setup.loopback_up,
                fresh_proc: setup.fresh_proc,
                private_tmp: setup.private_tmp,
                fork_exec: setup.fork_exec,
                oom_text: oom_text.as_deref(),
                devnull: devnull.as_raw_fd(),
                log: setup.log.as_ref().map(|f| f.as_raw_fd()),
                exec: exec_ptrs.as_ref().map(|(p, a, e)| (*p, a.as_ptr(), e.as_ptr())),
                proc_path: proc_path.as_ptr(),
                oom_path: oom_path.as_ptr(),
                proc_fs: proc_fs.as_ptr(),
                root: root.as_ptr(),
                tmp_path: tmp_path.as_ptr(),
                tmpfs: tmpfs.as_ptr(),
                tmp_options: tmp_options.as_ptr(),
            };
            // SAFETY: we are the freshly cloned child; see child_after_clone.
            unsafe { child_after_clone(&raw) }
        }
        // Parent.
        let pid = ret as u32;
        // SAFETY: the kernel stored a fresh pidfd for us (CLONE_PIDFD).
        let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
        drop(go_read);
        drop(status_write);
        let spawned = Spawned { pid, pidfd };
        if let Err(e) = before_go(pid) {
            let _ = pidfd_kill(&spawned.pidfd, super::SIGKILL);
            let _ = wait(&spawned.pidfd, false);
            return Err(e);
        }
        File::from(go_write).write_all(&[1])?;
        let mut status = [0u8; 8];
        let mut n = 0;
        let mut reader = File::from(status_read);
        loop {
            match reader.read(&mut status[n..]) {
                Ok(0) => break,
                Ok(k) => {
                    n += k;
                    if n == status.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            return Ok(spawned); // EOF: exec succeeded (or the sandbox closed its fds)
        }
        let _ = wait(&spawned.pidfd, false);
        let step = u32::from_ne_bytes([status[0], status[1], status[2], status[3]]);
        let errno = i32::from_ne_bytes([status[4], status[5], status[6], status[7]]);
        Err(io::Error::new(
            io::Error::from_raw_os_error(errno).kind(),
            format!("container setup failed at {}: {}", step_name(step), io::Error::from_raw_os_error(errno)),
        ))
    }

    struct RawChild<'a> {
        go_read: RawFd,
        go_write: RawFd,
        status_read: RawFd,
        status_write: RawFd,
        join: &'a [(File, i32)],
        hostname: Option<&'a [u8]>,
        loopback_up: bool,
        fresh_proc: bool,
        private_tmp: bool,
        fork_exec: bool,
        oom_text: Option<&'a [u8]>,
        devnull: RawFd,
        log: Option<RawFd>,
        exec: Option<(*const libc::c_char, *const *const libc::c_char, *const *const libc::c_char)>,
        proc_path: *const libc::c_char,
        oom_path: *const libc::c_char,
        proc_fs: *const libc::c_char,
        root: *const libc::c_char,
        tmp_path: *const libc::c_char,
        tmpfs: *const libc::c_char,
        tmp_options: *const libc::c_char,
    }

    /// Reports `(step, errno)` to the parent and exits.
    ///
    /// # Safety
    /// Only in the cloned child.
    unsafe fn fail(c: &RawChild<'_>, step: u32) -> ! {
        let errno = *libc::__errno_location();
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&step.to_ne_bytes());
        buf[4..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(c.status_write, buf.as_ptr().cast(), 8);
        libc::_exit(127)
    }

    /// The child between clone and exec.
    ///
    /// # Safety
    /// Only in the freshly cloned child: raw syscalls on pre-built data, never returns.
    unsafe fn child_after_clone(c: &RawChild<'_>) -> ! {
        libc::close(c.go_write);
        libc::close(c.status_read);
        // Die with the thread that spawned us; then check it did not die before prctl.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
        let mut go = [0u8; 1];
        if libc::read(c.go_read, go.as_mut_ptr().cast(), 1) != 1 {
            libc::_exit(1); // EOF: the parent is gone
        }
        libc::close(c.go_read);
        for (file, nstype) in c.join {
            if libc::setns(file.as_raw_fd(), *nstype) != 0 {
                fail(c, 1);
            }
        }
        if c.fork_exec {
            // A raw fork (clone with only SIGCHLD): glibc's fork() would run atfork handlers and
            // take locks another thread of the backend may have held at clone time.
            let pid = libc::syscall(
                libc::SYS_clone,
                libc::SIGCHLD as libc::c_ulong,
                0usize,
                0usize,
                0usize,
                0usize,
            );
            if pid < 0 {
                fail(c, 10);
            }
            if pid > 0 {
                // Intermediate: only the grandchild reports setup failures (it inherited the
                // status pipe); wait for it — our own child, by pid — and exit as it did.
                libc::close(c.status_write);
                let pid = pid as libc::pid_t;
                let mut status: libc::c_int = 0;
                loop {
                    let r = libc::waitpid(pid, &mut status, 0);
                    if r == pid {
                        break;
                    }
                    if r < 0 && *libc::__errno_location() != libc::EINTR {
                        libc::_exit(127);
                    }
                }
                if libc::WIFEXITED(status) {
                    libc::_exit(libc::WEXITSTATUS(status));
                }
                libc::_exit(128 + libc::WTERMSIG(status));
            }
            // Grandchild, inside the joined PID namespace: die with the intermediate (killed
            // on a probe timeout).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
        }
        if let Some(name) = c.hostname {
            if libc::sethostname(name.as_ptr().cast(), name.len()) != 0 {
                fail(c, 2);
            }
        }
        if c.fresh_proc {
            let flags = (libc::MS_REC | libc::MS_PRIVATE) as libc::c_ulong;
            if libc::mount(std::ptr::null(), c.root, std::ptr::null(), flags, std::ptr::null()) != 0 {
                fail(c, 3);
            }
            let flags = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as libc::c_ulong;
            if libc::mount(c.proc_fs, c.proc_path, c.proc_fs, flags, std::ptr::null()) != 0 {
                fail(c, 4);
            }
        }
        if c.private_tmp {
            let flags = (libc::MS_NOSUID | libc::MS_NODEV) as libc::c_ulong;
            if libc::mount(c.tmpfs, c.tmp_path, c.tmpfs, flags, c.tmp_options.cast()) != 0 {
                fail(c, 9);
            }
        }
        if c.loopback_up {
            let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            let mut req = IfreqFlags { name: [0; 16], flags: 0, _pad: [0; 22] };
            req.name[..2].copy_from_slice(b"lo");
            if sock < 0 || libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) != 0 {
                fail(c, 5);
            }
            req.flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            if libc::ioctl(sock, libc::SIOCSIFFLAGS, &mut req) != 0 {
                fail(c, 5);
            }
            libc::close(sock);
        }
        if let Some(text) = c.oom_text {
            let fd = libc::open(c.oom_path, libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 || libc::write(fd, text.as_ptr().cast(), text.len()) < 0 {
                fail(c, 6);
            }
            libc::close(fd);
        }
        let out = c.log.unwrap_or(c.devnull);
        if libc::dup2(c.devnull, 0) < 0 || libc::dup2(out, 1) < 0 || libc::dup2(out, 2) < 0 {
            fail(c, 7);
        }
        match c.exec {
            Some((path, argv, envp)) => {
                // Nothing of the backend's leaks into the container; the status pipe (already
                // close-on-exec) closes on success and tells the parent.
                libc::syscall(
                    libc::SYS_close_range,
                    3 as libc::c_uint,
                    libc::c_uint::MAX,
                    CLOSE_RANGE_CLOEXEC,
                );
                libc::execve(path, argv, envp);
                fail(c, 8)
            }
            None => {
                // Sandbox holder: keep no fd of the backend's open (a pipe held here would keep
                // some reader waiting), which also closes the status pipe: success.
                libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, libc::c_uint::MAX, 0 as libc::c_uint);
                loop {
                    libc::pause();
                }
            }
        }
    }

    /// Sends `signal` through a pidfd (no pid-reuse race).
    pub fn pidfd_kill(pidfd: &OwnedFd, signal: i32) -> io::Result<()> {
        // SAFETY: pidfd_send_signal with a null siginfo and no flags reads no memory of ours.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Reaps the process behind `pidfd`: `None` if it is still running (`nohang`).
    pub fn wait(pidfd: &OwnedFd, nohang: bool) -> io::Result<Option<ExitStatus>> {
        loop {
            // SAFETY: zeroed siginfo_t is a valid out-parameter for waitid.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let options = libc::WEXITED | if nohang { libc::WNOHANG } else { 0 };
            // SAFETY: waitid on our own child's pidfd writes into `info`, which we own.
            let r = unsafe { libc::waitid(P_PIDFD, pidfd.as_raw_fd() as libc::id_t, &mut info, options) };
            if r != 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            // SAFETY: waitid filled the SIGCHLD fields (pid 0 = nothing to report yet).
            let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
            if pid == 0 {
                return Ok(None);
            }
            return Ok(Some(match info.si_code {
                libc::CLD_EXITED => ExitStatus::Exited(status),
                _ => ExitStatus::Signaled(status),
            }));
        }
    }

    /// Waits until `pidfd` is readable (the process exited) or `timeout_ms` passes.
    pub fn poll_exit(pidfd: &OwnedFd, timeout_ms: i32) -> bool {
        let mut p = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd we own.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        r > 0
    }

    /// Every namespace kind a container has (`setns` through a pidfd joins them all at once).
    pub const CONTAINER_NAMESPACES: i32 =
        libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS | libc::CLONE_NEWPID | libc::CLONE_NEWNS;

    /// Joins the network namespace `netns` on the calling thread.
    pub fn setns_net(netns: &File) -> io::Result<()> {
        // SAFETY: setns on an fd we hold; affects only the calling thread's net namespace.
        let r = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `(pid, start time in clock ticks since boot)` of a process, from `/proc/<pid>/stat`.
    pub fn start_time_ticks(pid: u32) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        crate::run_root::parse_stat_start_time(&stat)
    }
}
