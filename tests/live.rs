//! `ftsim live`: words sent over TCP by concurrent clients become the session's input, faults are
//! typed on standard input, and the session's folder replays it with `ftsim run`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Generous: the machine may be loaded.
const WAIT: Duration = Duration::from_secs(120);

/// A running `ftsim live`, its stdout read line by line.
struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    addr: String,
}

/// A word count that keeps running counts (each word's final count is shown), on 4 workers.
const SCENARIO: &str = r#"# a test's live session
[run]
name = "livetest"
duration = "10s"
engines = ["flink-abs"]

[cluster]
nodes = 4
cores = 1
spares = 1
detection_delay = "500ms"
spare_start = "500ms"

[workload]
rate = 10
keys = 5
partitions = 2

[job]
kind = "running-count"
sink = "idempotent"

[engines.flink-abs]
checkpoint_interval = "1s"
"#;

impl Live {
    /// Starts `ftsim live` on SCENARIO (written into `dir`) with output `dir/out`, and waits for
    /// the address it listens on.
    fn start(dir: &Path, extra: &[&str]) -> Live {
        let scenario = dir.join("live.toml");
        std::fs::write(&scenario, SCENARIO).expect("write scenario");
        let out = dir.join("out");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ftsim"))
            .arg("live")
            .arg(&scenario)
            .args(["--listen", "127.0.0.1:0", "--speed", "20", "--out"])
            .arg(&out)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ftsim live starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut live = Live {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            addr: String::new(),
        };
        let first = live.wait_for(|l| l.starts_with("listening on "));
        live.addr = first.trim_start_matches("listening on ").to_string();
        live
    }

    /// Waits for a stdout line that `pred` accepts, and returns it.
    fn wait_for(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("timed out; stdout so far:\n{}", self.seen.join("\n")),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("ftsim live ended; stdout:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Types `line` on the session's standard input.
    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("type");
        stdin.flush().expect("flush");
    }

    /// Types quit and waits for the exit; returns the exit code and all of stdout.
    fn quit(mut self) -> (i32, String) {
        self.type_line("quit");
        drop(self.stdin.take());
        while let Ok(line) = self.lines.recv_timeout(WAIT) {
            self.seen.push(line);
        }
        let code = self.child.wait().expect("wait").code().unwrap_or(-1);
        (code, self.seen.join("\n"))
    }

    /// A client connected to the session.
    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(WAIT)).expect("timeout");
        s
    }
}

/// Sends `lines` as one client, a little apart, then closes the connection.
fn send(addr: String, lines: Vec<String>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(&addr).expect("connect");
        for l in lines {
            writeln!(s, "{l}").expect("send");
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Rows of the trace in `out`, as (word, count).
fn trace_words(out: &Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(out.join("trace.csv")).expect("trace.csv");
    let mut n = BTreeMap::new();
    for row in text.lines().skip(1) {
        let key = row.split(',').nth(1).expect("key").trim_matches('"').to_string();
        *n.entry(key).or_insert(0) += 1;
    }
    n
}

fn ftsim(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ftsim"))
        .args(args)
        .output()
        .expect("ftsim runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_session_of_two_clients_and_a_typed_crash_is_written_and_replays_with_the_promise_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut live = Live::start(dir.path(), &[]);
    let a = send(
        live.addr.clone(),
        (0..30).map(|i| format!("Alpha, beta! alpha {i}")).collect(),
    );
    let b = send(live.addr.clone(), (0..30).map(|_| "beta gamma".to_string()).collect());
    a.join().expect("client a");
    b.join().expect("client b");
    live.wait_for(|l| l.ends_with(" left"));
    live.wait_for(|l| l.ends_with(" left"));
    live.type_line("crash 1");
    live.wait_for(|l| l.contains("fault: crash of worker 1"));
    send(live.addr.clone(), (0..20).map(|_| "gamma delta".to_string()).collect())
        .join()
        .expect("client c");
    live.wait_for(|l| l.ends_with(" left"));
    // A view that has every word so far (the views keep coming while the session runs).
    live.wait_for(|l| l.contains("records in 220,"));
    let (code, stdout) = live.quit();
    assert_eq!(code, 0, "{stdout}");

    let mut sent: BTreeMap<String, u64> = BTreeMap::new();
    sent.insert("alpha".into(), 60);
    sent.insert("beta".into(), 60);
    sent.insert("gamma".into(), 50);
    sent.insert("delta".into(), 20);
    for i in 0..30 {
        sent.insert(i.to_string(), 1);
    }
    let out = dir.path().join("out");
    assert_eq!(trace_words(&out), sent, "the trace holds every word sent, once");
    let session = std::fs::read_to_string(out.join("session.toml")).expect("session.toml");
    assert!(
        session.contains("[[faults]]") && session.contains("crash = 1"),
        "{session}"
    );
    assert!(
        session.contains("trace = \"trace.csv\"") && !session.contains("rate ="),
        "{session}"
    );
    assert!(out.join("report.html").is_file());

    // The final view is the replay's: every word's count.
    let replay = stdout.split("replay (drained):").nth(1).expect("a replay view");
    for (w, n) in [("alpha", 60), ("beta", 60), ("gamma", 50), ("delta", 20)] {
        assert!(replay.contains(&format!("{w} {n}")), "{w} {n} in:\n{replay}");
    }

    let again = dir.path().join("again");
    let session_file = out.join("session.toml").display().to_string();
    let (code, stdout, err) = ftsim(&["run", &session_file, "--out", &again.display().to_string(), "-q"]);
    assert_eq!(code, 0, "{stdout}{err}");
    let summary = std::fs::read_to_string(again.join("summary.csv")).expect("summary.csv");
    let header: Vec<&str> = summary.lines().next().expect("header").split(',').collect();
    let row: Vec<&str> = summary.lines().nth(1).expect("row").split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).expect(name)];
    assert_eq!(col("records_in"), "220");
    assert_eq!(col("promise_kept"), "true");
    assert_eq!(col("verdict"), "exactly-once");
    assert_eq!(col("failures"), "1");
    // Everything but wall_s, the last column.
    let but_wall = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string())
            .collect()
    };
    assert_eq!(
        but_wall(&std::fs::read_to_string(out.join("summary.csv")).expect("live summary")),
        but_wall(&summary),
        "the session's own report is its replay's"
    );
}

#[test]
fn a_flooding_client_is_cut_off_with_a_message_while_another_clients_words_still_arrive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut live = Live::start(dir.path(), &["--client-rate", "50", "--max-line", "256"]);
    let mut flood = live.connect();
    let words: Vec<String> = (0..60).map(|_| "f".to_string()).collect();
    writeln!(flood, "{}", words.join(" ")).expect("send");
    let mut why = String::new();
    BufReader::new(&flood).read_line(&mut why).expect("a reason");
    assert!(
        why.contains("more than 50 words per second") && why.contains("disconnected"),
        "{why}"
    );
    live.wait_for(|l| l.contains("cut off: more than 50 words"));

    let mut long = live.connect();
    writeln!(long, "{}", "x".repeat(300)).expect("send");
    let mut why = String::new();
    BufReader::new(&long).read_line(&mut why).expect("a reason");
    assert!(why.contains("longer than 256 bytes"), "{why}");

    send(live.addr.clone(), vec!["calm words".into(), "calm".into()])
        .join()
        .expect("calm client");
    live.wait_for(|l| l.ends_with(" left"));
    let (code, stdout) = live.quit();
    assert_eq!(code, 0, "{stdout}");
    let got = trace_words(&dir.path().join("out"));
    assert_eq!(got, BTreeMap::from([("calm".into(), 2), ("words".into(), 1)]));
}

#[test]
fn a_bad_command_names_what_is_allowed_and_the_session_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut live = Live::start(dir.path(), &[]);
    live.type_line("launch rockets");
    let e = live.wait_for(|l| l.starts_with("error:"));
    assert!(e.contains("unknown command") && e.contains("allowed: crash N"), "{e}");
    live.type_line("crash 9");
    let e = live.wait_for(|l| l.starts_with("error:"));
    assert!(e.contains("the workers are 0 to 3"), "{e}");
    live.type_line("straggle 2 x4 10s");
    live.wait_for(|l| l.contains("fault: worker 2 4× slower for 10s"));
    live.type_line("straggle 2 x2 1s");
    let e = live.wait_for(|l| l.starts_with("error:"));
    assert!(e.contains("already straggles"), "{e}");
    send(live.addr.clone(), vec!["still here".into()])
        .join()
        .expect("client");
    live.wait_for(|l| l.ends_with(" left"));
    live.type_line("status");
    live.wait_for(|l| l.contains("2 word(s) received"));
    let (code, stdout) = live.quit();
    assert_eq!(code, 0, "{stdout}");
    let session = std::fs::read_to_string(dir.path().join("out/session.toml")).expect("session.toml");
    assert!(
        session.contains("straggler = 2") && session.contains("slowdown = 4.0"),
        "{session}"
    );
}

#[test]
fn a_bad_listen_address_a_port_in_use_or_a_bad_scenario_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("live.toml");
    std::fs::write(&scenario, SCENARIO).expect("write");
    let s = scenario.display().to_string();
    let out = dir.path().join("out").display().to_string();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = taken.local_addr().expect("addr").to_string();
    for listen in ["localhost:99999", "nonsense", taken.as_str()] {
        let (code, stdout, err) = ftsim(&["live", &s, "--listen", listen, "--out", &out]);
        assert_eq!(code, 2, "{listen}: {stdout}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--listen"), "{err}");
    }
    std::fs::write(&scenario, "[run]\nduration = \"ten\"\n").expect("write");
    let (code, _, err) = ftsim(&["live", &s, "--listen", "127.0.0.1:0", "--out", &out]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("run.duration"), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing written");
}
