//! The HTML report of a failing run: one self-contained page (no network) that leads with the
//! failure. In order: the failure kind and the violation; the swarm profile, if any; the
//! counterexample as text; a message sequence chart (one lifeline per node, messages as arrows
//! in simulated time order, drops, losses and duplicates marked, crashes, pauses, partitions
//! and clock skew shaded, the non-default decisions highlighted and numbered as in the text);
//! the clients' history as a timeline (with the linearizability checker's verdict and the
//! operations it could not place, where the failure is about linearizability); and the replay
//! command.
//!
//! Its only script marks the page as drawn (`data-weft-rendered="ok"` on `<html>`, or
//! `data-weft-error` on a script error) and counts the lifelines (`data-weft-lifelines`).

use super::explain::Counterexample;
use crate::ids::NodeId;
use crate::sim::{format_ns, EventKind, RunReport, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Messages drawn at most (the chart says when it stops early).
const MESSAGES_MAX: usize = 600;
/// Height of one row of the chart (one event).
const ROW: usize = 18;
/// Width given to each lifeline.
const LANE: usize = 150;
/// Longest counterexample text shown unfolded.
const STORY_OPEN_MAX: usize = 80;
/// Left margin (time axis and decision badges).
const LEFT: usize = 110;
/// Top margin (node names).
const TOP: usize = 56;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A message: sent from a node at a row; delivered (or lost) at a node at a row.
struct Message {
    id: u64,
    from: NodeId,
    sent: usize,
    /// Deliveries or losses: node, row, lost.
    ends: Vec<(NodeId, usize, bool)>,
    dropped: bool,
}

/// A shaded window on a lifeline, from one row to another (`None`: to the end).
struct Window {
    node: NodeId,
    start: usize,
    end: Option<usize>,
    class: &'static str,
    label: String,
}

/// What the chart draws, read from the trace: each event it shows gets a row, in trace
/// order, with its simulated time and step.
struct Chart {
    nodes: Vec<String>,
    rows: Vec<(u64, u64)>,
    messages: Vec<Message>,
    windows: Vec<Window>,
    truncated: bool,
}

fn shown(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Send
            | EventKind::Deliver
            | EventKind::Lost
            | EventKind::Crash
            | EventKind::Restart
            | EventKind::Pause
            | EventKind::Resume
            | EventKind::Link
    )
}

impl Chart {
    fn of(report: &RunReport) -> Chart {
        let trace = report.trace.as_deref().unwrap_or_default();
        let mut chart = Chart {
            nodes: report.node_names.clone(),
            rows: Vec::new(),
            messages: Vec::new(),
            windows: Vec::new(),
            truncated: false,
        };
        let mut by_id: BTreeMap<u64, usize> = BTreeMap::new();
        for e in trace.iter().filter(|e| shown(e.kind)) {
            // Every event the chart shows happens on a node.
            let Some(node) = e.node else {
                continue;
            };
            if e.kind == EventKind::Send && chart.messages.len() >= MESSAGES_MAX {
                chart.truncated = true;
                break;
            }
            let row = chart.rows.len();
            chart.rows.push((e.time_ns, e.step));
            match e.kind {
                EventKind::Send => {
                    by_id.insert(e.a, chart.messages.len());
                    chart.messages.push(Message {
                        id: e.a,
                        from: node,
                        sent: row,
                        ends: Vec::new(),
                        dropped: e.b == u64::MAX,
                    });
                }
                EventKind::Deliver | EventKind::Lost => {
                    if let Some(&m) = by_id.get(&e.a) {
                        let lost = e.kind == EventKind::Lost;
                        chart.messages[m].ends.push((node, row, lost));
                    }
                }
                _ => chart.window_event(report, e, node, row),
            }
        }
        chart
    }

    fn window_event(&mut self, report: &RunReport, e: &TraceEvent, node: NodeId, row: usize) {
        let name = |n: u64| {
            report
                .node_names
                .get(n as usize)
                .cloned()
                .unwrap_or_default()
        };
        let open = |class, label: String| Window {
            node,
            start: row,
            end: None,
            class,
            label,
        };
        let (class, label) = match e.kind {
            EventKind::Crash => return self.windows.push(open("crash", "crashed".into())),
            EventKind::Pause => return self.windows.push(open("pause", "paused".into())),
            EventKind::Link if e.b == 1 => {
                let label = format!("cut from {}", name(e.a));
                return self.windows.push(open("partition", label));
            }
            EventKind::Restart => ("crash", String::new()),
            EventKind::Resume => ("pause", String::new()),
            EventKind::Link => ("partition", format!("cut from {}", name(e.a))),
            _ => return,
        };
        let open_window = self.windows.iter_mut().rev().find(|w| {
            w.node == node && w.class == class && w.end.is_none() && w.label.contains(&label)
        });
        if let Some(w) = open_window {
            w.end = Some(row);
        }
    }

    /// The row of a decision taken at `step`: the first row at or after it.
    fn row_of_step(&self, step: u64) -> usize {
        self.rows.partition_point(|&(_, s)| s < step)
    }
}

fn x_of(node: NodeId) -> usize {
    LEFT + LANE / 2 + node.index() * LANE
}

fn y_of(row: usize) -> usize {
    TOP + ROW * row + ROW / 2
}

/// The message sequence chart, as SVG.
fn chart_svg(report: &RunReport, out: &mut String) {
    let chart = Chart::of(report);
    let height = TOP + ROW * (chart.rows.len() + 1) + ROW;
    let width = LEFT + LANE * chart.nodes.len().max(1) + 20;
    let _ = write!(
        out,
        "<svg class=\"msc\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\"/></marker></defs>"
    );
    draw_time_axis(&chart, out);
    draw_windows(&chart, height, out);
    draw_lifelines(report, &chart, height, out);
    draw_decisions(report, &chart, width, out);
    for m in &chart.messages {
        draw_message(m, out);
    }
    out.push_str("</svg>");
    if chart.truncated {
        let _ = write!(
            out,
            "<p class=\"meta\">The chart shows the first {MESSAGES_MAX} messages only.</p>"
        );
    }
}

/// The simulated time on the left, wherever it changes.
fn draw_time_axis(chart: &Chart, out: &mut String) {
    let mut last = None;
    for (row, &(time, _)) in chart.rows.iter().enumerate() {
        if last != Some(time) {
            let _ = write!(
                out,
                "<text class=\"time\" x=\"4\" y=\"{}\">{}</text>",
                y_of(row) + 4,
                escape(&format_ns(time))
            );
            last = Some(time);
        }
    }
}

fn draw_windows(chart: &Chart, height: usize, out: &mut String) {
    for w in &chart.windows {
        let top = y_of(w.start);
        let bottom = w.end.map_or(height - ROW / 2, y_of);
        let x = x_of(w.node) - LANE / 2 + 8;
        let _ = write!(
            out,
            "<rect class=\"window {}\" x=\"{x}\" y=\"{top}\" width=\"{}\" height=\"{}\"><title>{} {}</title></rect>\
             <text class=\"window-label\" x=\"{}\" y=\"{}\">{}</text>",
            w.class,
            LANE - 16,
            bottom.saturating_sub(top).max(4),
            escape(&chart.nodes.get(w.node.index()).cloned().unwrap_or_default()),
            escape(&w.label),
            x + 2,
            top + 12,
            escape(&w.label)
        );
    }
}

fn draw_lifelines(report: &RunReport, chart: &Chart, height: usize, out: &mut String) {
    for (i, name) in chart.nodes.iter().enumerate() {
        let x = x_of(NodeId::from_index(i));
        let skew: Vec<&str> = report
            .notes
            .iter()
            .filter(|n| n.text.starts_with(&format!("{name}'s clock")))
            .map(|n| n.text.as_str())
            .collect();
        if !skew.is_empty() {
            let _ = write!(
                out,
                "<rect class=\"window skew\" x=\"{}\" y=\"{TOP}\" width=\"6\" height=\"{}\"><title>{}</title></rect>",
                x + 4,
                height - TOP,
                escape(&skew.join("; "))
            );
        }
        let _ = write!(
            out,
            "<g class=\"lifeline\" data-node=\"{i}\"><text class=\"node\" x=\"{x}\" y=\"20\">{}</text>\
             <text class=\"skew-label\" x=\"{x}\" y=\"36\">{}</text>\
             <line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{height}\"/></g>",
            escape(name),
            if skew.is_empty() { "" } else { "clock skewed" },
            TOP - 10
        );
    }
}

fn draw_decisions(report: &RunReport, chart: &Chart, width: usize, out: &mut String) {
    let mut notes: Vec<&crate::sim::Note> = report.notes.iter().collect();
    notes.sort_by_key(|n| n.decision);
    for (i, note) in notes.iter().enumerate() {
        let y = y_of(chart.row_of_step(note.step)) - ROW / 2;
        let _ = write!(
            out,
            "<g class=\"decision\"><title>{}. {} (step {}, at {})</title>\
             <line x1=\"{}\" y1=\"{y}\" x2=\"{width}\" y2=\"{y}\"/>\
             <circle cx=\"{}\" cy=\"{y}\" r=\"8\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
            i + 1,
            escape(&note.text),
            note.step,
            escape(&format_ns(note.time_ns)),
            LEFT - 14,
            LEFT - 14,
            LEFT - 14,
            y + 4,
            i + 1
        );
    }
}

fn draw_message(m: &Message, out: &mut String) {
    let (x1, y1) = (x_of(m.from), y_of(m.sent));
    if m.dropped {
        let _ = write!(
            out,
            "<g class=\"msg dropped\"><title>message {} dropped</title>\
             <line x1=\"{x1}\" y1=\"{y1}\" x2=\"{}\" y2=\"{y1}\"/><text x=\"{}\" y=\"{}\">✕ dropped</text></g>",
            m.id,
            x1 + 40,
            x1 + 42,
            y1 + 4
        );
        return;
    }
    for (copy, &(to, row, lost)) in m.ends.iter().enumerate() {
        let (x2, y2) = (x_of(to), y_of(row));
        let (class, what) = match (lost, copy > 0) {
            (true, _) => ("msg lost", "lost at delivery"),
            (false, true) => ("msg duplicate", "delivered again (a duplicate)"),
            (false, false) => ("msg", "delivered"),
        };
        let mark = if lost {
            format!("<text x=\"{}\" y=\"{}\">✕</text>", x2 - 4, y2 + 4)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<g class=\"{class}\"><title>message {}: {what}</title>\
             <line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" marker-end=\"url(#arrow)\"/>{mark}</g>",
            m.id,
        );
    }
}

/// The clients' history as lanes of operations over simulated time, when the case recorded
/// one; the linearizability verdict and the unplaced operations where the failure is about
/// linearizability.
fn history_html(counterexample: &Counterexample, out: &mut String) {
    let Some(history) = counterexample
        .case
        .as_ref()
        .and_then(|c| c.history.as_ref())
    else {
        return;
    };
    if history.ops.is_empty() {
        return;
    }
    out.push_str("<h2>Client history</h2>");
    let linearizability = history.verdict == "not-linearizable";
    let unplaced: BTreeSet<usize> = history
        .parts
        .iter()
        .flat_map(|p| p.unplaced.iter().copied())
        .collect();
    if linearizability {
        out.push_str(
            "<p class=\"meta\">The linearizability checker found no order of these operations \
             that the model accepts; the operations it could not place are marked.</p>",
        );
    }
    draw_ops(history, linearizability, &unplaced, out);
}

/// One lane per client, one bar per operation, over the instants at which operations were
/// called or returned.
fn draw_ops(
    history: &weft_lincheck::Report,
    linearizability: bool,
    unplaced: &BTreeSet<usize>,
    out: &mut String,
) {
    let mut times: BTreeSet<u64> = BTreeSet::new();
    for op in &history.ops {
        times.insert(op.call);
        times.extend(op.ret);
    }
    let times: Vec<u64> = times.into_iter().collect();
    let clients: BTreeSet<u64> = history.ops.iter().map(|o| o.client).collect();
    let clients: Vec<u64> = clients.into_iter().collect();
    let col = |t: u64| 120 + 90 * times.partition_point(|&x| x < t);
    let width = col(u64::MAX) + 200;
    let _ = write!(
        out,
        "<svg class=\"history\" width=\"{width}\" height=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        30 + 34 * clients.len()
    );
    for (lane, client) in clients.iter().enumerate() {
        let y = 20 + 34 * lane;
        let _ = write!(
            out,
            "<text class=\"node\" x=\"4\" y=\"{}\">client {client}</text>",
            y + 14
        );
        for (i, op) in history
            .ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.client == *client)
        {
            let x1 = col(op.call);
            let x2 = op.ret.map_or(width - 10, |r| col(r) + 80);
            let class = if linearizability && unplaced.contains(&i) {
                "op unplaced"
            } else {
                "op"
            };
            let ret = op.ret.map_or("never returned".to_string(), format_ns);
            let _ = write!(
                out,
                "<g class=\"{class}\"><title>{} (called at {}, returned at {})</title>\
                 <rect x=\"{x1}\" y=\"{y}\" width=\"{}\" height=\"22\" rx=\"4\"/>\
                 <text x=\"{}\" y=\"{}\">{}</text></g>",
                escape(&op.description),
                escape(&format_ns(op.call)),
                escape(&ret),
                x2.saturating_sub(x1).max(60),
                x1 + 4,
                y + 15,
                escape(&op.description)
            );
        }
    }
    out.push_str("</svg>");
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222}\
.failure{border:3px solid #c62828;background:#ffebee;padding:12px 16px;border-radius:6px}\
.failure h1{color:#b71c1c;margin:0 0 6px 0;font-size:22px}\
.failure pre{white-space:pre-wrap;margin:6px 0 0 0}\
.profile{border-left:4px solid #6a1b9a;padding:4px 10px;background:#f3e5f5}\
pre.story{background:#f5f5f5;padding:10px;white-space:pre-wrap}\
.meta{color:#555;font-size:13px}\
svg text{font-size:12px}.msc .node,.history .node{font-weight:600;text-anchor:middle}\
.history .node{text-anchor:start}\
.msc .lifeline line{stroke:#444;stroke-width:2}.skew-label{fill:#1565c0;text-anchor:middle}\
.msc .time{fill:#777}.msc .msg line{stroke:#1565c0;stroke-width:1.3}\
.msc .msg.duplicate line{stroke:#ef6c00;stroke-dasharray:5 3}\
.msc .msg.lost line{stroke:#c62828;stroke-dasharray:3 3}.msc .msg.lost text{fill:#c62828}\
.msc .msg.dropped line{stroke:#c62828}.msc .msg.dropped text{fill:#c62828}\
.window{opacity:.35}.window.crash{fill:#c62828}.window.pause{fill:#9e9e9e}\
.window.partition{fill:#ef6c00}.window.skew{fill:#1565c0}.window-label{fill:#333;font-size:11px}\
.decision line{stroke:#f9a825;stroke-width:2;stroke-dasharray:6 3}.decision circle{fill:#fdd835;stroke:#f57f17}\
.decision text{text-anchor:middle;font-weight:700}\
.history .op rect{fill:#e3f2fd;stroke:#1565c0}.history .op.unplaced rect{fill:#ffcdd2;stroke:#c62828}\
code{background:#eee;padding:2px 6px}summary h2{display:inline}";

const SCRIPT: &str = "window.onerror=function(m,s,l,c){document.documentElement.setAttribute(\
'data-weft-error',String(m)+' at '+l+':'+c);};\
document.documentElement.setAttribute('data-weft-lifelines',\
String(document.querySelectorAll('svg.msc g.lifeline').length));\
document.documentElement.setAttribute('data-weft-rendered','ok');";

/// The page of `counterexample`, whose run (replayed with its trace) reported `report`.
pub fn page(title: &str, counterexample: &Counterexample, report: &RunReport) -> String {
    let failure = &counterexample.failure;
    let violation = counterexample
        .case
        .as_ref()
        .and_then(|c| c.violation.clone())
        .unwrap_or_else(|| failure.message.clone());
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>weft: {} failed ({})</title>\
         <style>{STYLE}</style></head><body>\
         <div class=\"failure\" id=\"failure\"><h1>{} failed: {}</h1><div>{}</div><pre>Violation: {}</pre></div>",
        escape(title),
        failure.kind.name(),
        escape(title),
        failure.kind.name(),
        escape(failure.kind.meaning()),
        escape(&violation),
    );
    if let Some(profile) = &counterexample.profile {
        let _ = write!(
            out,
            "<h2>Swarm profile</h2><p class=\"profile\">{}</p>",
            escape(&profile.to_string())
        );
    }
    // A long story (hundreds of decisions) is folded, so that the chart is in view.
    let story = counterexample.to_string();
    let lines = story.lines().count();
    let open = if lines <= STORY_OPEN_MAX { " open" } else { "" };
    let _ = write!(
        out,
        "<details{open}><summary><h2>Counterexample ({lines} lines)</h2></summary>\
         <pre class=\"story\">{}</pre></details>\
         <h2>Message sequence chart</h2><p class=\"meta\">One lifeline per node; time runs down \
         (one row per event, simulated time on the left); arrows are messages; red windows \
         crashes, grey pauses, orange partitions, a blue bar a skewed clock; numbered yellow \
         lines the non-default decisions of the interleaving above.</p>",
        escape(&story)
    );
    chart_svg(report, &mut out);
    history_html(counterexample, &mut out);
    if let Some(replay) = &counterexample.replay {
        let _ = write!(out, "<h2>Replay</h2><p><code>{}</code></p>", escape(replay));
    }
    let _ = write!(out, "<script>{SCRIPT}</script></body></html>");
    out
}
