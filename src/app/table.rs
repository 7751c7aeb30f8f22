//! `init status [--json]`: read the running PID 1's
//! status file ($INIT_RUN_DIR/status.json, or a fallback: status_file.rs).

use crate::status_file::{self, Status, now_secs};
use mooring::error::Error;
use mooring::escape::{escape, escape_controls};

/// Prints the services of the running init: a table, or the file's JSON.
pub fn show(json: bool) -> Result<u8, Error> {
    let st = status_file::find_live()?;
    let text = if json { st.to_json() } else { table(&st, now_secs()) };
    print!("{text}");
    Ok(0)
}

/// The services as a table. Every text in it is escaped (src/escape.rs): a
/// name, state or `STATUS=` text never reaches the terminal with a control
/// character in it (docs/security.md, "Texts from others").
fn table(st: &Status, now: u64) -> String {
    let width = st.services.iter().map(|s| escape(&s.name).chars().count()).max().unwrap_or(4).max(7);
    let mut out = format!(
        "init pid {} up {}\n{:width$}  {:9} {:>7}  {:5}  {:>8}  {:>8}  LAST EXIT\n",
        st.pid,
        duration(now.saturating_sub(st.started)),
        "SERVICE",
        "STATE",
        "PID",
        "READY",
        "RESTARTS",
        "FOR",
    );
    for s in &st.services {
        out.push_str(&format!(
            "{:width$}  {:9} {:>7}  {:5}  {:>8}  {:>8}  {}\n",
            escape(&s.name),
            escape(&s.state),
            s.pid.map_or("-".into(), |p| p.to_string()),
            if s.ready { "yes" } else { "no" },
            s.restarts,
            duration(now.saturating_sub(s.since)),
            s.last_exit.map_or("-".into(), |c| c.to_string()),
        ));
        // What the service says of itself (notify protocol), after its row.
        // Escaped once by init when it came (src/notice.rs); again here
        // only if a control character got in some other way.
        if let Some(text) = &s.status_text {
            out.insert_str(out.len() - 1, &format!("  {}", escape_controls(text)));
        }
    }
    out
}

fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{}m", s / 3600, s / 60 % 60),
        s => format!("{}d{}h", s / 86_400, s / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mooring::status::ServiceStatus;

    #[test]
    fn the_table_shows_control_characters_escaped() {
        let service = ServiceStatus {
            name: "we\x1bb".into(),
            state: "ready\n".into(),
            pid: Some(12),
            ready: true,
            restarts: 0,
            since: 100,
            last_exit: None,
            critical: true,
            oneshot: false,
            main: true,
            status_text: Some("raw\u{9b}2J".into()),
        };
        let st = Status { pid: 1, pid_start: None, started: 100, services: vec![service], control: None };
        let text = table(&st, 160);
        assert!(!text.contains(|c: char| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("we\\x1bb  ready\\n"), "{text}");
        assert!(text.contains("1m0s  -  raw\\u{9b}2J\n"), "{text}");
    }
}
