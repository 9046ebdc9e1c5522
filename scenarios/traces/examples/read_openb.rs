//! Reads an openb trace and prints what came out and how long it took:
//!
//! ```text
//! cargo run --release -p kubesim-traces --example read_openb -- \
//!     ../shared/traces/alibaba-gpu-v2023/openb_node_list_all_node.csv \
//!     ../shared/traces/alibaba-gpu-v2023/openb_pod_list_default.csv
//! ```

use std::path::Path;
use std::process::ExitCode;

use kubesim_traces::{read_openb, ReadOptions, TraceEventKind};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [nodes, pods] = args.as_slice() else {
        eprintln!("usage: read_openb <openb_node_list.csv> <openb_pod_list.csv>");
        return ExitCode::from(2);
    };
    // Wall-clock timing of a benchmark harness, not simulated time.
    #[allow(clippy::disallowed_methods)] // wall time of the read, printed only; never fed into the replay
    let start = std::time::Instant::now();
    let stream = match read_openb(Some(Path::new(nodes)), Path::new(pods), &ReadOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut nodes_n, mut pods_n, mut gpu_milli) = (0u64, 0u64, 0i64);
    let mut last = None;
    let mut stream = stream;
    for ev in stream.by_ref() {
        match ev {
            Ok(ev) => {
                last = Some(ev.at);
                match ev.kind {
                    TraceEventKind::AddNode(_) => nodes_n += 1,
                    TraceEventKind::SubmitPod { pod, .. } => {
                        pods_n += 1;
                        gpu_milli += pod.spec.containers[0].resources.requests.get_or_zero(
                            &kubesim_api::ResourceName::parse(kubesim_traces::openb::GPU_MILLI_RESOURCE),
                        );
                    }
                    _ => {}
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let elapsed = start.elapsed();
    println!("nodes={nodes_n} pods={pods_n} total_gpu_milli={gpu_milli} last_arrival={last:?}");
    println!("stats={:?}", stream.stats());
    println!("read in {:.3} ms", elapsed.as_secs_f64() * 1e3);
    ExitCode::SUCCESS
}
