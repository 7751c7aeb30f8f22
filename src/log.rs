//! Logging on stderr: `init: LEVEL message key=value` lines, or one JSON
//! object a line (INIT_LOG_FORMAT=json). INIT_LOG is a tracing-subscriber
//! target filter (`Targets`: `info`, `mooring=debug`); the subscriber itself
//! is the small one below, not tracing-subscriber's fmt layer and registry,
//! which cost 87 kB of init's size budget (docs/benchmarks.md, "Budgets") for span
//! machinery init never uses. Both formats are written here, not by
//! serde_json or the `env-filter` feature. Lines go out through the
//! outlet (src/outlet.rs), which never blocks, and text from others in
//! them is escaped (docs/security.md, "Texts from others").

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};

use crate::outlet::{self, Stream};
use mooring::error::Error;
use mooring::escape::{escape, escape_controls, needs_escape};
use mooring::json::json_string;
use mooring::redact::redact;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// INIT_LOG_FORMAT=json, for the lines the outlet writes itself.
static JSON: AtomicBool = AtomicBool::new(false);

/// Values masked as `***` in every line: the secrets' (src/redact.rs).
static HIDDEN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// From now on, `values` never appear in a log line.
pub fn hide(values: Vec<String>) {
    if let Ok(mut hidden) = HIDDEN.write() {
        hidden.extend(values.into_iter().filter(|v| !v.is_empty()));
    }
}

/// `text` with the hidden values masked.
pub fn masked(text: &str) -> String {
    match HIDDEN.read() {
        Ok(hidden) => redact(text, &hidden).into_owned(),
        // A panic while holding the lock: mask everything rather than leak.
        Err(_) => "***".into(),
    }
}

/// Installs the global subscriber. `filter` is INIT_LOG (a tracing target
/// filter such as `info` or `mooring=debug`); `verbosity` (-v minus -q), when
/// not zero, overrides its level.
pub fn init(filter: Option<&str>, format: Option<&str>, verbosity: i8) -> Result<(), Error> {
    let targets = match filter {
        Some(text) if !text.trim().is_empty() => parse_filter(text)
            .map_err(|e| Error::Usage(format!("INIT_LOG={text:?} is not a valid filter: {e}")))?,
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    let targets = match verbosity {
        0 => targets,
        v => Targets::new().with_default(level_for(v)),
    };
    let format = match format.map(str::trim) {
        None | Some("") | Some("text") => Format::Text,
        Some("json") => Format::Json,
        Some(other) => {
            return Err(Error::Usage(format!(
                "INIT_LOG_FORMAT={other:?} is not a log format (text or json)"
            )));
        }
    };
    JSON.store(format == Format::Json, Ordering::Relaxed);
    let max = targets.iter().map(|(_, l)| l).chain(targets.default_level()).max().unwrap_or(LevelFilter::OFF);
    let logger = Logger { targets, format, max };
    tracing::subscriber::set_global_default(logger).map_err(|e| Error::Usage(format!("logging: {e}")))
}

/// Writes each enabled event as one line on stderr. Spans are not used by init.
struct Logger {
    targets: Targets,
    format: Format,
    max: LevelFilter,
}

impl Subscriber for Logger {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        self.targets.would_enable(meta.target(), meta.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = format_line(self.format, event);
        // One write per line, so lines from init never interleave mid-line.
        outlet::write(Stream::Stderr, line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Why INIT_LOG is not a filter.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum BadFilter {
    #[error("unknown level {0:?}")]
    Level(String),
    #[error("invalid directive {0:?}")]
    Directive(String),
}

/// `level` or `target=level` directives, comma-separated (tracing's target
/// filter syntax, without span or field matching: init has neither).
/// Parsed here because tracing-subscriber's directive parser costs 20 kB.
fn parse_filter(text: &str) -> Result<Targets, BadFilter> {
    let mut targets = Targets::new();
    for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = |l: &str| LevelFilter::from_str(l.trim()).map_err(|_| BadFilter::Level(l.into()));
        targets = match directive.split_once('=') {
            None => targets.with_default(level(directive)?),
            Some((target, l)) if !target.trim().is_empty() && !target.contains(['[', '{']) => {
                targets.with_target(target.trim().to_string(), level(l)?)
            }
            Some(_) => return Err(BadFilter::Directive(directive.into())),
        };
    }
    Ok(targets)
}

fn level_for(verbosity: i8) -> LevelFilter {
    match verbosity {
        i8::MIN..=-2 => LevelFilter::ERROR,
        -1 => LevelFilter::WARN,
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// One event as one line, newline included.
fn format_line(format: Format, event: &Event<'_>) -> String {
    let mut fields = Fields { format, message: String::new(), rest: String::new() };
    event.record(&mut fields);
    line(format, level_name(event.metadata().level()), fields)
}

/// The outlet's line for output it had to drop (src/outlet.rs), in the
/// log's format, newline included.
pub fn dropped_report(stream: &str, lines: u64, bytes: u64) -> String {
    let format = if JSON.load(Ordering::Relaxed) { Format::Json } else { Format::Text };
    let message = format!("{lines} lines ({bytes} bytes) of output dropped: {stream} was not writable");
    let mut fields = Fields { format, message, rest: String::new() };
    if format == Format::Json {
        fields.rest = format!(",\"stream\":\"{stream}\",\"lines\":{lines},\"bytes\":{bytes}");
    }
    line(format, "WARN", fields)
}

fn line(format: Format, level: &str, fields: Fields) -> String {
    match format {
        Format::Text => format!("init: {level} {}{}\n", fields.message, fields.rest),
        Format::Json => {
            let mut line = format!("{{\"level\":\"{level}\",\"message\":");
            json_string(&mut line, &fields.message);
            line.push_str(&fields.rest);
            line.push_str("}\n");
            line
        }
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// Collects the message and the other fields of one event, already formatted.
struct Fields {
    format: Format,
    message: String,
    rest: String,
}

impl Fields {
    fn push(&mut self, field: &Field, value: &str, quoted: bool) {
        // Masked before quoting or JSON escaping, which would change the
        // text a secret's value is found by.
        let value = &masked(value);
        if field.name() == "message" {
            // Messages are often formatted with paths and names, quoted
            // with `{:?}` (whose backslashes stay as they are).
            match self.format {
                Format::Text => self.message.push_str(&escape_controls(value)),
                Format::Json => self.message.push_str(value),
            }
            return;
        }
        match self.format {
            Format::Text if quoted => {
                let _ = write!(self.rest, " {}={}", field.name(), text_value(value));
            }
            Format::Text => {
                let _ = write!(self.rest, " {}={}", field.name(), value);
            }
            Format::Json => {
                self.rest.push(',');
                json_string(&mut self.rest, field.name());
                self.rest.push(':');
                if quoted {
                    json_string(&mut self.rest, value);
                } else {
                    self.rest.push_str(value);
                }
            }
        }
    }
}

/// A text value as `key=value` shows it: as it is, or in quotes with `"`
/// and every control character and backslash escaped when it holds one of
/// them, a space or `=`, so a value never ends a line or fakes a field.
fn text_value(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(|c| matches!(c, ' ' | '"' | '=') || needs_escape(c)) {
        return value.into();
    }
    format!("\"{}\"", escape(value).replace('"', "\\\"")).into()
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, &value.to_string(), false);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, &value.to_string(), false);
    }

    // init logs no floats and no 128-bit numbers: overriding these defaults
    // keeps float and i128 formatting (12 kB) out of the binary.
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, &(value as i64).to_string(), false);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, &(value as i64).to_string(), false);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, &(value as u64).to_string(), false);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, if value { "true" } else { "false" }, false);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value, true);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"), true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_levels_and_target_levels() {
        let t = parse_filter("warn, mooring=debug").unwrap();
        assert!(t.would_enable("mooring::config", &Level::DEBUG));
        assert!(!t.would_enable("init::run", &Level::INFO));
        assert!(t.would_enable("init::run", &Level::WARN));
        for bad in ["loud", "=debug", "x=[span]", "info,=bogus=="] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_filter("info,loud").unwrap_err(), BadFilter::Level("loud".into()));
        assert_eq!(parse_filter("=debug").unwrap_err(), BadFilter::Directive("=debug".into()));
        assert_eq!(parse_filter("x[y]=info").unwrap_err().to_string(), "invalid directive \"x[y]=info\"");
    }

    #[test]
    fn text_values_are_quoted_and_escaped_when_they_need_it() {
        for (value, want) in [
            ("/data/file", "/data/file"),
            ("two words", "\"two words\""),
            ("a=b", "\"a=b\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("x\ninit:\tERROR\tforged\u{1b}]2;t\u{7}", "\"x\\ninit:\\tERROR\\tforged\\x1b]2;t\\x07\""),
            ("back\\slash", "\"back\\\\slash\""),
            ("csi\u{9b}", "\"csi\\u{9b}\""),
        ] {
            assert_eq!(text_value(value), want, "{value:?}");
        }
    }

    #[test]
    fn the_report_of_dropped_output_is_one_warn_line() {
        assert_eq!(
            dropped_report("stdout", 3, 120),
            "init: WARN 3 lines (120 bytes) of output dropped: stdout was not writable\n"
        );
    }

    #[test]
    fn verbosity_maps_to_levels() {
        assert_eq!(level_for(-2), LevelFilter::ERROR);
        assert_eq!(level_for(-1), LevelFilter::WARN);
        assert_eq!(level_for(1), LevelFilter::DEBUG);
        assert_eq!(level_for(3), LevelFilter::TRACE);
    }
}
