//! `ftsim live`: a session fed from a socket, viewed as it goes, replayable afterwards.
//!
//! Clients connect over TCP and send lines of text; every word becomes a record stamped with the
//! simulated time of its arrival, `(wall clock − session start) × speed`. The live view is the
//! replay of the session so far: every bucket of simulated time, the words received up to now
//! are run as a trace-backed scenario whose run ends now (no drain), on a blocking thread, and
//! the engine's latest results and figures are printed. The kernel never sees the socket or the
//! wall clock, and stays deterministic: a view is exactly what `ftsim run` gives for the same
//! trace and scenario. Commands typed on standard input add faults at the simulated instant they
//! are typed. At the end the session's trace and scenario are written, with the full report of
//! their replay. tokio lives in this module only.

pub mod input;
pub mod session;

use crate::cli::UserError;
use crate::output;
use crate::runner::{self, RunOptions};
use anyhow::{Context, Result};
use ftsim_engines::Registry;
use ftsim_sim::scenario::Overrides;
use ftsim_sim::{Scenario, SimDuration, SimTime};
use input::{Bucket, Command};
use session::{SESSION_FILE, Session, TRACE_FILE, Template, Typed};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What `ftsim live` was asked for.
#[derive(Debug, Clone)]
pub struct LiveArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The engine to run (default: the scenario's engines; the view shows the first).
    pub engine: Option<String>,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// Output directory.
    pub out: Option<PathBuf>,
    /// Longest line a client may send, bytes.
    pub max_line: usize,
    /// Words per second a client may send (at most one second's worth at once).
    pub client_rate: u32,
    /// Clients connected at once.
    pub max_clients: usize,
    /// Words a view shows.
    pub top: usize,
}

/// Everything the tasks of a session share.
struct Ctx {
    session: Mutex<Session>,
    tmpl: Template,
    registry: Registry,
    /// The engine the view shows.
    engine: String,
    args: LiveArgs,
    /// The session's scratch folder (trace, views' scenarios), removed at the end.
    scratch: PathBuf,
    /// Held by a view while it runs, and by the end of the session: one reader of the trace at
    /// a time, and never while it grows.
    running: Mutex<()>,
    /// The latest view printed.
    latest: Mutex<Option<String>>,
    /// Set once the session ends: nothing more is printed or taken in.
    closing: AtomicBool,
    clients: AtomicUsize,
    /// Whether a view said it waits for words.
    waiting_said: AtomicBool,
}

/// A lock, whether or not a thread panicked holding it (the data stays usable).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Prints `text` on stdout at once (a view, a notice) unless the session is closing.
fn say(ctx: &Ctx, text: &str) {
    if ctx.closing.load(Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Runs a live session; returns the exit status.
pub fn live(args: LiveArgs, registry: &Registry) -> Result<u8> {
    let text = std::fs::read_to_string(&args.scenario).map_err(|e| ftsim_sim::ScenarioError::Io {
        file: args.scenario.clone(),
        reason: e.to_string(),
    })?;
    let over = Overrides {
        engines: args.engine.iter().cloned().collect(),
        ..Overrides::default()
    };
    let sc = Scenario::from_str(&args.scenario, &text, &over, registry)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(format!("live-{}", sc.run.name)));
    let target = output::safety::check_out_dir(&out).map_err(|e| UserError(format!("--out {}: {e}", out.display())))?;
    let engine = sc.run.engines[0].clone();
    let partitions = sc.workload.partitions;
    let tmpl = Template::new(&text, sc)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let listener = rt
        .block_on(TcpListener::bind(args.listen))
        .map_err(|e| UserError(format!("--listen {}: cannot listen there: {e}", args.listen)))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let scratch = scratch_dir()?;
    let session = Session::new(&scratch, args.speed, partitions)?;
    let ctx = Arc::new(Ctx {
        session: Mutex::new(session),
        tmpl,
        registry: registry.clone(),
        engine,
        args,
        scratch: scratch.clone(),
        running: Mutex::new(()),
        latest: Mutex::new(None),
        closing: AtomicBool::new(false),
        clients: AtomicUsize::new(0),
        waiting_said: AtomicBool::new(false),
    });
    println!("listening on {bound}");
    println!(
        "ftsim live: {} at {}× speed, a view every {} of simulated time; send lines of words to {bound}; type crash N, straggle N xF DURATION, status or quit",
        ctx.engine, ctx.args.speed, ctx.tmpl.sc.run.bucket
    );
    let _ = std::io::stdout().flush();
    rt.block_on(serve(Arc::clone(&ctx), listener));
    ctx.closing.store(true, Ordering::SeqCst);
    rt.shutdown_background();
    let done = finish(&ctx, &target, &out);
    let _ = std::fs::remove_dir_all(&scratch);
    done.map(|()| 0)
}

/// A fresh folder under the system's temporary directory for the session's working files.
fn scratch_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for n in 0..1000 {
        let p = base.join(format!("ftsim-live-{}-{n}", std::process::id()));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", p.display())),
        }
    }
    anyhow::bail!("no free scratch folder under {}", base.display())
}

/// Accepts clients, ticks the view, and reads commands until quit, end of input or Ctrl-C.
async fn serve(ctx: Arc<Ctx>, listener: TcpListener) {
    let accept = tokio::spawn(accept_loop(Arc::clone(&ctx), listener));
    let ticker = tokio::spawn(tick_loop(Arc::clone(&ctx)));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    if !command(&ctx, &line) {
                        break;
                    }
                }
                _ => break,
            },
            _ = &mut ctrl_c => break,
        }
    }
    ctx.closing.store(true, Ordering::SeqCst);
    accept.abort();
    ticker.abort();
}

/// Handles one typed line; false to end the session.
fn command(ctx: &Ctx, line: &str) -> bool {
    let workers = ctx.tmpl.sc.cluster.nodes;
    let cmd = match input::command(line, workers) {
        None => return true,
        Some(Err(e)) => {
            say(ctx, &format!("error: {e}"));
            return true;
        }
        Some(Ok(c)) => c,
    };
    match cmd {
        Command::Quit => false,
        Command::Status => {
            let (now, words, faults) = {
                let s = lock(&ctx.session);
                (s.now(), s.records.len(), s.typed.len())
            };
            let latest = lock(&ctx.latest).clone();
            say(
                ctx,
                &format!(
                    "[{now}] {words} word(s) received, {} client(s) connected, {faults} fault(s) typed\n{}",
                    ctx.clients.load(Ordering::SeqCst),
                    latest.unwrap_or_else(|| "no view yet".into())
                ),
            );
            true
        }
        what @ (Command::Crash(_) | Command::Straggle { .. }) => {
            let mut s = lock(&ctx.session);
            let now = s.now();
            let at = SimTime((now.0 + 500_000) / 1_000_000 * 1_000_000);
            match s.check_fault(&ctx.tmpl, at, &what) {
                Ok(()) => {
                    let text = match &what {
                        Command::Crash(n) => format!("crash of worker {n}"),
                        Command::Straggle { node, factor, length } => {
                            format!("worker {node} {factor}× slower for {length}")
                        }
                        _ => String::new(),
                    };
                    s.typed.push(Typed { at, what });
                    drop(s);
                    say(ctx, &format!("[{now}] fault: {text} at {at}"));
                }
                Err(e) => {
                    drop(s);
                    say(ctx, &format!("error: {e}"));
                }
            }
            true
        }
    }
}

/// Accepts clients until the session ends.
async fn accept_loop(ctx: Arc<Ctx>, listener: TcpListener) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            if ctx.clients.fetch_add(1, Ordering::SeqCst) >= ctx.args.max_clients {
                let mut stream = stream;
                let msg = format!(
                    "error: {} clients are connected, the most allowed (--max-clients); disconnected\n",
                    ctx.args.max_clients
                );
                let _ = stream.write_all(msg.as_bytes()).await;
            } else {
                say(&ctx, &format!("client {peer} connected"));
                client(&ctx, stream, peer).await;
            }
            ctx.clients.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Reads one client's lines until it leaves, floods, or sends an over-long line.
async fn client(ctx: &Ctx, stream: TcpStream, peer: SocketAddr) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let max = ctx.args.max_line;
    let mut bucket = Bucket::new(ctx.args.client_rate, Instant::now());
    let mut buf = Vec::new();
    let why = loop {
        buf.clear();
        match (&mut rd).take(max as u64 + 1).read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break None,
            Ok(_) => {}
        }
        if buf.last() != Some(&b'\n') && buf.len() > max {
            break Some(format!("a line is longer than {max} bytes (--max-line)"));
        }
        if ctx.closing.load(Ordering::SeqCst) {
            break None;
        }
        let words = input::words(&String::from_utf8_lossy(&buf));
        if words.is_empty() {
            continue;
        }
        if !bucket.take(words.len(), Instant::now()) {
            break Some(format!(
                "more than {} words per second (--client-rate)",
                ctx.args.client_rate
            ));
        }
        lock(&ctx.session).push(words);
    };
    match why {
        Some(why) => {
            let _ = wr.write_all(format!("error: {why}; disconnected\n").as_bytes()).await;
            let _ = wr.shutdown().await;
            say(ctx, &format!("client {peer} cut off: {why}"));
        }
        None => say(ctx, &format!("client {peer} left")),
    }
}

/// Every bucket of simulated time, runs the view of the session so far. A view that takes longer
/// than a bucket makes the next ticks be skipped, not queued.
async fn tick_loop(ctx: Arc<Ctx>) {
    let period = Duration::from_secs_f64(ctx.tmpl.sc.run.bucket.as_secs_f64() / ctx.args.speed);
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let c = Arc::clone(&ctx);
        let view = tokio::task::spawn_blocking(move || tick(&c)).await;
        let text = match view {
            Ok(Ok(Some(text))) => text,
            Ok(Ok(None)) => continue,
            Ok(Err(e)) => format!("view: error: {e:#}"),
            Err(e) => format!("view: error: {e}"),
        };
        say(&ctx, &text);
        *lock(&ctx.latest) = Some(text);
    }
}

/// One view: the session up to now (whole milliseconds) run by the view's engine; `None` before
/// the first bucket's end.
fn tick(ctx: &Ctx) -> Result<Option<String>> {
    let _running = lock(&ctx.running);
    if ctx.closing.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let (text, end, words) = {
        let mut s = lock(&ctx.session);
        s.write_pending()?;
        let now = s.now();
        let end = SimDuration(now.0 / 1_000_000 * 1_000_000);
        if end < ctx.tmpl.sc.run.bucket {
            return Ok(None);
        }
        if s.records.first().is_none_or(|r| r.0 >= end.as_nanos()) {
            // Said once, not every bucket.
            let said = ctx.waiting_said.swap(true, Ordering::SeqCst);
            return Ok((!said).then(|| format!("[{}] waiting for words", SimTime(end.0))));
        }
        (s.scenario_text(&ctx.tmpl, end, Some(&ctx.engine)), end, s.words.clone())
    };
    let started = Instant::now();
    let path = ctx.scratch.join("view.toml");
    let report = session::run_view(&path, &text, &ctx.registry, &ctx.engine)?;
    let took = started.elapsed().as_secs_f64();
    Ok(Some(session::view(
        &report,
        end,
        &words,
        Some(took),
        ctx.args.top,
        ctx.tmpl.sc.job.window.length,
    )))
}

/// Ends the session: writes its trace and scenario, runs the replay of every engine and writes
/// the full report beside them, all into `target` at once.
fn finish(ctx: &Ctx, target: &Path, out: &Path) -> Result<()> {
    let _running = lock(&ctx.running);
    let mut s = lock(&ctx.session);
    s.write_pending()?;
    if s.records.is_empty() {
        println!("no words received: nothing to replay, nothing written");
        return Ok(());
    }
    let sc0 = &ctx.tmpl.sc;
    let length = s.length(sc0.run.bucket);
    let replay_path = out.join(SESSION_FILE);
    let text = format!(
        "# ftsim live session of {}: {} word(s) over {length} of simulated time at {}× speed, {} fault(s) typed.\n# Replay it: ftsim run {}\n{}",
        ctx.args.scenario.display(),
        s.records.len(),
        ctx.args.speed,
        s.typed.len(),
        replay_path.display(),
        s.scenario_text(&ctx.tmpl, length, None)
    );
    let scratch_file = ctx.scratch.join(SESSION_FILE);
    std::fs::write(&scratch_file, &text).with_context(|| format!("writing {}", scratch_file.display()))?;
    let sc = Scenario::from_str(&scratch_file, &text, &Overrides::default(), &ctx.registry)
        .context("the session's scenario does not load")?;
    println!(
        "session over at {length}: replaying {} word(s) with {}",
        s.records.len(),
        sc.run.engines.join(", ")
    );
    let _ = std::io::stdout().flush();
    let results = runner::run_all(&sc, &ctx.registry, &RunOptions::default())?;
    let trace = std::fs::read_to_string(s.trace_path()).context("reading the trace back")?;
    let inv = output::Invocation {
        command: output::report::shell_command(&["ftsim".into(), "run".into(), replay_path.display().to_string()]),
        scenario_file: replay_path.display().to_string(),
        scenario_text: text.clone(),
        sets: Vec::new(),
        engines: Vec::new(),
        seed: None,
    };
    output::write_all_with(
        target,
        &sc,
        &results,
        &inv,
        &[(SESSION_FILE, text), (TRACE_FILE, trace)],
    )?;
    if let Some(r) = results.iter().find(|r| r.report.engine == ctx.engine) {
        print!(
            "replay (drained):\n{}",
            session::view(&r.report, length, &s.words, None, ctx.args.top, sc0.job.window.length)
        );
    }
    print!("{}", output::console::summary_table(&sc, &results));
    println!("wrote {}", out.display());
    println!("replay: ftsim run {}", replay_path.display());
    Ok(())
}
