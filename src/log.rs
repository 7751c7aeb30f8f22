//! Logging on stderr through tracing-subscriber: `init: LEVEL message
//! key=value` lines, or one JSON object a line (INIT_LOG_FORMAT=json).
//! Both formats are written here rather than pulled from serde_json or the
//! `env-filter` feature, which would cost more than the whole rest of init.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use mooring::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Installs the global subscriber. `filter` is INIT_LOG (a tracing target
/// filter such as `info` or `mooring=debug`); `verbosity` (-v minus -q), when
/// not zero, overrides its level.
pub fn init(filter: Option<&str>, format: Option<&str>, verbosity: i8) -> Result<(), Error> {
    let targets = match filter {
        Some(text) if !text.trim().is_empty() => Targets::from_str(text)
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
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).event_format(Line(format));
    tracing_subscriber::registry().with(layer).with(targets).init();
    Ok(())
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

struct Line(Format);

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut fields = Fields { format: self.0, message: String::new(), rest: String::new() };
        event.record(&mut fields);
        let level = event.metadata().level();
        match self.0 {
            Format::Text => writeln!(w, "init: {} {}{}", level_name(level), fields.message, fields.rest),
            Format::Json => {
                let mut line = String::from("{\"level\":\"");
                line.push_str(level_name(level));
                line.push_str("\",\"message\":");
                json_string(&mut line, &fields.message);
                line.push_str(&fields.rest);
                writeln!(w, "{line}}}")
            }
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
        if field.name() == "message" {
            self.message.push_str(value);
            return;
        }
        match self.format {
            Format::Text if quoted && value.contains([' ', '"', '=']) => {
                let _ = write!(self.rest, " {}={:?}", field.name(), value);
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

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, &value.to_string(), false);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, &value.to_string(), false);
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

/// Appends `s` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_and_control_characters() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\u{1}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn verbosity_maps_to_levels() {
        assert_eq!(level_for(-2), LevelFilter::ERROR);
        assert_eq!(level_for(-1), LevelFilter::WARN);
        assert_eq!(level_for(1), LevelFilter::DEBUG);
        assert_eq!(level_for(3), LevelFilter::TRACE);
    }
}
