//! The workload program as a standalone binary (the same code as `kubesim workload-program`),
//! used by this crate's real-backend tests.

fn main() {
    #[cfg(target_os = "linux")]
    {
        match kubesim_backend_linux::program::ProgramSpec::from_env() {
            Ok(spec) => std::process::exit(kubesim_backend_linux::player::play(spec)),
            Err(e) => {
                eprintln!("ksim-workload: {e}");
                std::process::exit(2);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("ksim-workload: the workload program runs on Linux only");
        std::process::exit(2);
    }
}
