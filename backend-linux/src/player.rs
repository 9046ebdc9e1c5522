//! The workload program itself: plays a [`ProgramSpec`] as a real process.
//!
//! It runs as PID 1 of the container's PID namespace, which shapes it:
//! * the kernel drops signals PID 1 has no handler for, so SIGTERM gets a handler (otherwise the
//!   container could only be stopped by SIGKILL, reference §3.1);
//! * orphans are re-parented to PID 1, so it reaps them;
//! * when it exits, the kernel SIGKILLs the rest of the namespace.
//!
//! Threads: one HTTP server (`/healthz`, `/ready`, `/startup`), one CPU burner per started core of
//! demand (busy for `demand` of every 10 ms slice), and the main loop (memory, signals, exits,
//! and — when the spec asks, inside a container — the health files `/tmp/healthy`, `/tmp/ready`,
//! `/tmp/started`, each present exactly while its answer is healthy, for exec probes; the
//! answer's latency does not apply to them).
//! This is wall-clock code by nature: it reads `Instant::now`.
#![allow(clippy::disallowed_methods)] // the workload program lives in real time

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::program::{
    health_at, HealthPoint, ProgramSpec, Shutdown, LIVENESS_FILE, READINESS_FILE, STARTUP_FILE,
};

/// The health files and whether each exists now.
struct HealthFiles<'a> {
    files: [(&'static str, &'a [HealthPoint], Option<bool>); 3],
}

impl<'a> HealthFiles<'a> {
    fn new(spec: &'a ProgramSpec) -> Self {
        HealthFiles {
            files: [
                (LIVENESS_FILE, &spec.liveness, None),
                (READINESS_FILE, &spec.readiness, None),
                (STARTUP_FILE, &spec.startup, None),
            ],
        }
    }

    /// Creates or removes each file whose answer changed.
    fn update(&mut self, offset_ns: u64) {
        for (path, points, present) in &mut self.files {
            let healthy = health_at(points, offset_ns).0;
            if *present == Some(healthy) {
                continue;
            }
            let done = if healthy {
                std::fs::write(*path, b"ok\n")
            } else {
                std::fs::remove_file(*path).or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                })
            };
            if let Err(e) = done {
                eprintln!("workload: cannot update {path}: {e}"); // once per change, not per loop
            }
            *present = Some(healthy);
        }
    }
}

static SIGTERM_SEEN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_: libc::c_int) {
    SIGTERM_SEEN.store(true, Ordering::SeqCst);
}

fn install_sigterm_handler() {
    // SAFETY: a zeroed sigaction with a plain handler that only stores an atomic (async-signal-safe).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigterm as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

fn offset_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Plays `spec` until it exits; returns the exit code.
pub fn play(spec: ProgramSpec) -> i32 {
    install_sigterm_handler();
    let start = Instant::now();
    let spec = Arc::new(spec);
    // The files first, so an exec probe never finds them missing while the program starts up.
    let mut files = spec.health_files.then(|| HealthFiles::new(&spec));
    if let Some(files) = &mut files {
        files.update(0);
    }
    let listener = match TcpListener::bind(("0.0.0.0", spec.http_port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("workload: cannot listen on port {}: {e}", spec.http_port);
            return 2;
        }
    };
    {
        let spec = Arc::clone(&spec);
        std::thread::spawn(move || serve(listener, &spec, start));
    }
    let cores = ((spec.cpu_millis.max().max(0) + 999) / 1000).min(64);
    for core in 0..cores {
        let spec = Arc::clone(&spec);
        std::thread::spawn(move || burn(&spec, core, start));
    }
    let mut held: Vec<Vec<u8>> = Vec::new();
    let mut held_bytes: i64 = 0;
    let mut term_at: Option<u64> = None;
    loop {
        let now = offset_ns(start);
        if let Some(files) = &mut files {
            files.update(now);
        }
        reap_orphans();
        if let Some(at) = spec.exit_after_ns {
            if now >= at {
                return spec.exit_code;
            }
        }
        if term_at.is_none() && SIGTERM_SEEN.load(Ordering::SeqCst) {
            match spec.shutdown {
                Shutdown::Die => return 143,
                Shutdown::Graceful { .. } => term_at = Some(now),
                Shutdown::Ignore => {}
            }
        }
        if let (Some(t), Shutdown::Graceful { after_ns, exit_code }) = (term_at, spec.shutdown) {
            if now >= t.saturating_add(after_ns) {
                return exit_code;
            }
        }
        // Memory: hold (allocated and touched) the curve's value, in chunks of up to 4 MiB.
        const CHUNK: i64 = 4 << 20;
        let target = spec.memory_bytes.value_at(now).max(0);
        while held_bytes < target {
            let n = (target - held_bytes).min(CHUNK);
            held.push(vec![0xA5u8; n as usize]); // non-zero fill touches every page
            held_bytes += n;
            if SIGTERM_SEEN.load(Ordering::SeqCst) {
                break;
            }
        }
        while held_bytes > target {
            match held.pop() {
                Some(chunk) => held_bytes -= chunk.len() as i64,
                None => break,
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// As PID 1, collect whatever exits below us.
fn reap_orphans() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with WNOHANG writes only `status`. The workload program has no children
        // of its own whose status anyone else waits for, so waiting for any child is right here.
        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if r <= 0 {
            return;
        }
    }
}

/// Burns this core's share of the demand as CPU *time owed*, not as a wall-clock duty cycle: the
/// thread accrues `demand × elapsed` and spins while it owes, so time spent throttled by CFS is
/// still owed afterwards, as it is for an application with work queued. The debt is capped at
/// one CFS period (100 ms) so a throttled container does not burn a backlog for long after its
/// demand drops; small overshoots are credited back (down to one slice).
fn burn(spec: &ProgramSpec, core: i64, start: Instant) {
    const SLICE: Duration = Duration::from_millis(10);
    const SPIN: Duration = Duration::from_micros(500);
    const MAX_DEBT_NS: i64 = 100_000_000;
    const MAX_CREDIT_NS: i64 = 10_000_000;
    let mut last_wall = Instant::now();
    let mut last_cpu = thread_cpu_ns();
    let mut owed_ns: i64 = 0;
    loop {
        let demand = spec.cpu_millis.value_at(offset_ns(start));
        let mine = (demand - core * 1000).clamp(0, 1000);
        let now = Instant::now();
        let wall_ns = i64::try_from(now.duration_since(last_wall).as_nanos()).unwrap_or(i64::MAX);
        last_wall = now;
        let cpu = thread_cpu_ns();
        let used_ns = cpu.saturating_sub(last_cpu);
        last_cpu = cpu;
        owed_ns = owed_ns
            .saturating_add(wall_ns.saturating_mul(mine) / 1000)
            .saturating_sub(used_ns)
            .clamp(-MAX_CREDIT_NS, MAX_DEBT_NS);
        if owed_ns > 0 {
            let until = Instant::now() + SPIN;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        } else if mine == 0 {
            std::thread::sleep(SLICE);
        } else {
            // Sleep until about half a spin's worth is owed again.
            let ns = (-owed_ns).max(0) * 1000 / mine + SPIN.as_nanos() as i64 * 500 / mine;
            std::thread::sleep(Duration::from_nanos(ns.clamp(100_000, SLICE.as_nanos() as i64) as u64));
        }
    }
}

/// CPU time this thread has used, ns.
fn thread_cpu_ns() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID needs no other state.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec.saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec)
}

fn serve(listener: TcpListener, spec: &ProgramSpec, start: Instant) {
    for stream in listener.incoming().flatten() {
        let _ = answer(stream, spec, start);
    }
}

fn answer(mut stream: TcpStream, spec: &ProgramSpec, start: Instant) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    // Read the whole request head: answering after the first segment and closing makes the
    // client's remaining writes fail with EPIPE/ECONNRESET (reference pitfall 10).
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let timeline: Option<&[HealthPoint]> = match path {
        "/healthz" | "/livez" => Some(&spec.liveness),
        "/ready" | "/readyz" => Some(&spec.readiness),
        "/startup" => Some(&spec.startup),
        _ => None,
    };
    let (code, text) = match timeline {
        Some(points) => {
            let (healthy, latency_ns) = health_at(points, offset_ns(start));
            if latency_ns > 0 {
                std::thread::sleep(Duration::from_nanos(latency_ns.min(30_000_000_000)));
            }
            if healthy {
                (200, "OK")
            } else {
                (500, "Internal Server Error")
            }
        }
        None => (404, "Not Found"),
    };
    let body = text.to_ascii_lowercase();
    let response = format!(
        "HTTP/1.1 {code} {text}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}
