//! The generator of the committed fixtures under `tests/fixtures/`, and the check that they are
//! up to date. Regenerate after editing this file with
//!
//! ```text
//! KUBESIM_REGENERATE_FIXTURES=1 cargo test -p kubesim-traces --test fixtures_gen
//! ```
//!
//! Every value is chosen so the tests can assert exact conversions (worked in their comments).

use std::path::PathBuf;

fn fixtures() -> Vec<(&'static str, String)> {
    let lines = |l: &[&str]| l.iter().map(|s| format!("{s}\n")).collect::<String>();
    vec![
        (
            "openb/nodes.csv",
            lines(&[
                "sn,cpu_milli,memory_mib,gpu,model",
                "openb-node-0000,32000,262144,0,",
                "openb-node-0001,96000,786432,8,V100M32",
                "openb-node-0002,64000,262144,2,P100",
            ]),
        ),
        (
            "openb/pods.csv",
            lines(&[
                "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time",
                "openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0",
                "openb-pod-0001,6000,12288,1,460,,BE,Running,100,3700,160",
                "openb-pod-0002,88000,327680,8,1000,V100M16|V100M32,Burstable,Succeeded,200,1200,200",
                "openb-pod-0003,4000,15258,0,0,P100,LS,Pending,300,900,",
                "openb-pod-0004,2000,4096,0,0,,BE,Running,5000,,5000",
            ]),
        ),
        (
            "generic/nodes.csv",
            lines(&[
                "name,cpu,memory,pods,labels,resource:nvidia.com/gpu",
                "node-a,16,64Gi,110,topology.kubernetes.io/zone=a,0",
                "node-b,8,32Gi,,topology.kubernetes.io/zone=b,2",
            ]),
        ),
        (
            "generic/pods.csv",
            lines(&[
                "name,arrival,duration,cpu,memory,priority,labels,usage,resource:nvidia.com/gpu",
                "web-0,0,,500m,512Mi,1000,app=web,0s:200m:300Mi;5m:450m:310Mi,",
                "batch-1,90s,1h30m,2,4Gi,,,,",
                "gpu-2,2h,10m,1,1Gi,,team=ml;tier=batch,,1",
            ]),
        ),
        (
            "alibaba-2018/machine_meta.csv",
            lines(&[
                "m_1,0,1,1,96,50,USING",
                "m_2,0,1,2,64,25,USING",
                "m_1,3600,1,1,96,50,USING",
                "m_3,7200,2,1,96,100,USING",
            ]),
        ),
        (
            "alibaba-2018/container_meta.csv",
            lines(&[
                "c_1,m_1,0,app_1,started,400,800,1.5",
                "c_2,m_2,0,app_2,started,200,200,3",
                "c_1,m_1,100,app_1,started,400,800,1.5",
                "c_3,m_3,7200,app_1,started,100,200,0.5",
            ]),
        ),
        (
            "alibaba-2018/container_usage.csv",
            lines(&[
                "c_1,m_1,60,25,50,,,,,,",
                "c_1,m_1,120,50,60,,,,,,",
                "c_2,m_2,60,101,50,,,,,,",
                "c_3,m_3,7260,10,20,,,,,,",
            ]),
        ),
        (
            "alibaba-2018/batch_task.csv",
            lines(&[
                "M1,2,j_1,1,Terminated,0,100,100,0.5",
                "M1,2,j_2,1,Terminated,50,650,100,0.39",
                "R2_1,1,j_2,1,Terminated,700,1000,50,0.2",
            ]),
        ),
        (
            "alibaba-2018/batch_instance.csv",
            lines(&[
                "i_1,M1,j_2,1,Terminated,60,460,m_1,1,1,80,120,0.3,0.4",
                "i_2,M1,j_2,1,Terminated,70,270,m_2,1,1,60,90,0.1,0.2",
            ]),
        ),
        (
            "google-2019/machine_events.json",
            lines(&[
                r#"{"time":"0","machine_id":"101","type":1,"capacity":{"cpus":0.5,"memory":0.25},"platform_id":"7","switch_id":"3"}"#,
                r#"{"time":"0","machine_id":"102","type":"1","capacity":{"cpus":1,"memory":1}}"#,
                r#"{"time":"600000000","machine_id":"102","type":"3","capacity":{"cpus":0.75,"memory":0.5}}"#,
                r#"{"time":"1200000000","machine_id":"101","type":"2"}"#,
            ]),
        ),
        (
            "google-2019/collection_events.json",
            lines(&[r#"{"time":"0","type":"0","collection_id":"9","user":"u1","collection_logical_name":"web"}"#]),
        ),
        (
            "google-2019/instance_events.json",
            lines(&[
                r#"{"time":"0","type":"0","collection_id":"9","instance_index":"0","priority":"200","resource_request":{"cpus":0.0245,"memory":0.01}}"#,
                r#"{"time":"1000000","type":"3","collection_id":"9","instance_index":"0","machine_id":"101"}"#,
                r#"{"time":"5000000","type":"0","collection_id":"9","instance_index":"1","priority":200,"resource_request":{"cpus":0.05,"memory":0.02}}"#,
                r#"{"time":"300000000","type":"3","collection_id":"9","instance_index":"1"}"#,
                r#"{"time":"900000000","type":"6","collection_id":"9","instance_index":"1"}"#,
            ]),
        ),
        (
            "google-2019/instance_usage.json",
            lines(&[
                r#"{"start_time":"1000000","end_time":"301000000","collection_id":"9","instance_index":"0","average_usage":{"cpus":0.01,"memory":0.005}}"#,
                r#"{"start_time":"301000000","end_time":"601000000","collection_id":"9","instance_index":"0","average_usage":{"cpus":0.02,"memory":0.006}}"#,
            ]),
        ),
    ]
}

#[test]
fn committed_fixtures_match_their_generator() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let regenerate = std::env::var_os("KUBESIM_REGENERATE_FIXTURES").is_some();
    for (path, content) in fixtures() {
        let file = root.join(path);
        if regenerate {
            std::fs::create_dir_all(file.parent().expect("fixture paths have a directory")).expect("mkdir");
            std::fs::write(&file, &content).expect("write fixture");
        }
        let on_disk = std::fs::read_to_string(&file).unwrap_or_default();
        assert_eq!(on_disk, content, "{path} is stale: regenerate (see this file's docs)");
    }
}
