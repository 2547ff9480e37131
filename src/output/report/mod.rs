//! `report.html`: one self-contained page (no server, no network: inline CSS, charts as inline
//! SVG, one small inline script) that shows an output directory.
//!
//! [`Page`] is the generic part, usable for any output directory: a title, facts (version,
//! seed, ...), the command that reproduces it, and sections of text, tables, charts (a caption
//! and the SVG text) and preformatted text. [`run`] builds the page of an `ftsim run` directory.
//!
//! The page is deterministic: the same page for the same input, byte for byte (no timestamps).
//! Its script checks that every chart was laid out with a non-zero size and content and writes
//! the count to the `data-charts-shown` attribute of `<body>`, next to `data-charts` (how many
//! there are): scripts/test-report.sh reads both from headless Chromium's DOM.

pub mod run;
mod toml_text;

use std::fmt::Write;

/// A page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The `<title>` and the heading.
    pub title: String,
    /// One line under the heading.
    pub subtitle: Option<String>,
    /// Label and value pairs shown under the heading (version, seed, ...).
    pub facts: Vec<(String, String)>,
    /// The command that reproduces what the page shows, already shell-quoted.
    pub command: Option<String>,
    /// The body, in order; each section is linked from the page's table of contents.
    pub sections: Vec<Section>,
}

/// A titled part of the page.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// The anchor (`#id`); letters, digits, `-` and `_` (anything else becomes `-`).
    pub id: String,
    /// The heading.
    pub heading: String,
    /// The content, in order.
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone)]
pub enum Block {
    /// A paragraph of plain text.
    Text(String),
    /// A table.
    Table(Table),
    /// A table folded under a one-line summary (for long tables).
    Folded {
        /// The line shown while it is folded.
        summary: String,
        /// The table.
        table: Table,
    },
    /// A chart: a caption and the SVG text (as a chart file holds it).
    Chart {
        /// The caption.
        caption: String,
        /// The SVG document.
        svg: String,
    },
    /// Preformatted text (a file's text, a listing).
    Pre {
        /// The caption.
        caption: String,
        /// The text, shown as it is.
        text: String,
    },
}

/// A table of text cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
    /// Columns to make prominent.
    pub key_columns: Vec<usize>,
    /// Rows to mark as bad (shown in red).
    pub flagged_rows: Vec<usize>,
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped, safe in HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One argument quoted for a POSIX shell: as it is when it holds only characters no shell
/// treats specially, otherwise in single quotes.
pub fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A command line from its arguments, each shell-quoted.
pub fn shell_command<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| shell_quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;
 margin:0 auto;max-width:1240px;padding:1.5rem 1.5rem 4rem;color:#1d232a;line-height:1.45}
h1{font-size:1.7rem;margin:.2rem 0}
h2{font-size:1.3rem;margin:2.4rem 0 .8rem;padding-bottom:.3rem;border-bottom:1px solid #d5dae0}
h3{font-size:1.05rem;margin:1.4rem 0 .5rem}
.sub{color:#56606b;margin:.2rem 0 1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 1rem}
dl.facts dt{color:#56606b}dl.facts dd{margin:0}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f5f7f9;border:1px solid #e1e5ea;border-radius:6px;padding:.7rem .9rem;
 overflow-x:auto;white-space:pre}
pre.command{white-space:pre-wrap;word-break:break-all}
nav{font-size:.92rem;margin:1rem 0}nav a{margin-right:1rem;color:#1f5fa8}
.scroll{overflow-x:auto;margin:.5rem 0 1rem}
table{border-collapse:collapse;font-size:.84rem}
th,td{padding:.28rem .55rem;border-bottom:1px solid #e4e8ec;text-align:left;white-space:nowrap}
th{background:#f0f3f6;font-weight:600;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th.key{background:#dce8f5}td.key{background:#f3f8fd;font-weight:600}
tr.flagged td{background:#fde8e8;color:#8a1010}
figure.chart{margin:1rem 0 1.6rem}
figure.chart svg{display:block;max-width:100%;height:auto;border:1px solid #e4e8ec}
figcaption,.caption{color:#56606b;font-size:.9rem;margin:.3rem 0}
details{margin:.5rem 0 1rem}summary{cursor:pointer;color:#1f5fa8}
";

/// Counts the charts laid out with a size and content; see the module documentation.
const CHECK_SCRIPT: &str = r#"(function () {
  var charts = document.querySelectorAll("figure.chart > svg");
  var shown = 0;
  for (var i = 0; i < charts.length; i++) {
    var box = charts[i].getBoundingClientRect();
    var content = charts[i].getBBox();
    if (box.width > 0 && box.height > 0 && content.width > 0 && content.height > 0) {
      shown++;
    }
  }
  document.body.setAttribute("data-charts-shown", String(shown));
})();"#;

fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// An SVG document as it goes inside HTML: without an XML declaration or doctype.
fn inline_svg(svg: &str) -> &str {
    let mut s = svg.trim();
    while s.starts_with("<?") || s.starts_with("<!") {
        match s.find('>') {
            Some(end) => s = s[end + 1..].trim_start(),
            None => break,
        }
    }
    s
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.parse::<f64>().is_ok()
}

impl Page {
    /// How many charts the page holds.
    pub fn chart_count(&self) -> usize {
        self.sections
            .iter()
            .flat_map(|s| &s.blocks)
            .filter(|b| matches!(b, Block::Chart { .. }))
            .count()
    }

    /// The page as HTML.
    pub fn render(&self) -> String {
        let mut h = String::new();
        let title = escape(&self.title);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n\
             <body data-charts=\"{}\">\n<h1>{title}</h1>\n",
            self.chart_count()
        );
        if let Some(sub) = &self.subtitle {
            let _ = writeln!(h, "<p class=\"sub\">{}</p>", escape(sub));
        }
        if !self.facts.is_empty() {
            h.push_str("<dl class=\"facts\">\n");
            for (k, v) in &self.facts {
                let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
            }
            h.push_str("</dl>\n");
        }
        if let Some(cmd) = &self.command {
            let _ = writeln!(
                h,
                "<div class=\"caption\">Reproduce with:</div>\n<pre class=\"command\">{}</pre>",
                escape(cmd)
            );
        }
        if self.sections.len() > 1 {
            h.push_str("<nav>");
            for s in &self.sections {
                let _ = write!(h, "<a href=\"#{}\">{}</a>", anchor(&s.id), escape(&s.heading));
            }
            h.push_str("</nav>\n");
        }
        for s in &self.sections {
            let _ = writeln!(h, "<section id=\"{}\">\n<h2>{}</h2>", anchor(&s.id), escape(&s.heading));
            for b in &s.blocks {
                block(&mut h, b);
            }
            h.push_str("</section>\n");
        }
        let _ = write!(h, "<script>\n{CHECK_SCRIPT}\n</script>\n</body>\n</html>\n");
        h
    }
}

fn block(h: &mut String, b: &Block) {
    match b {
        Block::Text(t) => {
            let _ = writeln!(h, "<p>{}</p>", escape(t));
        }
        Block::Table(t) => table(h, t),
        Block::Folded { summary, table: t } => {
            let _ = writeln!(h, "<details>\n<summary>{}</summary>", escape(summary));
            table(h, t);
            h.push_str("</details>\n");
        }
        Block::Chart { caption, svg } => {
            let _ = writeln!(
                h,
                "<figure class=\"chart\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
                inline_svg(svg),
                escape(caption)
            );
        }
        Block::Pre { caption, text } => {
            let _ = writeln!(
                h,
                "<div class=\"caption\">{}</div>\n<pre>{}</pre>",
                escape(caption),
                escape(text.trim_end())
            );
        }
    }
}

fn table(h: &mut String, t: &Table) {
    h.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for (i, c) in t.header.iter().enumerate() {
        let class = if t.key_columns.contains(&i) {
            " class=\"key\""
        } else {
            ""
        };
        let _ = write!(h, "<th{class}>{}</th>", escape(c));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (r, row) in t.rows.iter().enumerate() {
        if t.flagged_rows.contains(&r) {
            h.push_str("<tr class=\"flagged\">");
        } else {
            h.push_str("<tr>");
        }
        for (i, c) in row.iter().enumerate() {
            let mut classes = Vec::new();
            if is_number(c) {
                classes.push("num");
            }
            if t.key_columns.contains(&i) {
                classes.push("key");
            }
            if classes.is_empty() {
                let _ = write!(h, "<td>{}</td>", escape(c));
            } else {
                let _ = write!(h, "<td class=\"{}\">{}</td>", classes.join(" "), escape(c));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_characters_html_treats_specially() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("run.duration=30s"), "run.duration=30s");
        assert_eq!(shell_quote("faults=[{at = \"1s\"}]"), "'faults=[{at = \"1s\"}]'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn inline_svg_drops_an_xml_declaration() {
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg></svg>"), "<svg></svg>");
    }
}
