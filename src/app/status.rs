//! `init status [--json]`: read the running PID 1's
//! status file ($INIT_RUN_DIR/status.json, or a fallback: run/status.rs).

use crate::run::status::{self, Status, now_secs};
use mooring::error::Error;

/// Prints the services of the running init: a table, or the file's JSON.
pub fn show(json: bool) -> Result<u8, Error> {
    let st = status::find_live()?;
    let text = if json { st.to_json() } else { table(&st, now_secs()) };
    print!("{text}");
    Ok(0)
}

fn table(st: &Status, now: u64) -> String {
    let width = st.services.iter().map(|s| s.name.len()).max().unwrap_or(4).max(7);
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
            s.name,
            s.state,
            s.pid.map_or("-".into(), |p| p.to_string()),
            if s.ready { "yes" } else { "no" },
            s.restarts,
            duration(now.saturating_sub(s.since)),
            s.last_exit.map_or("-".into(), |c| c.to_string()),
        ));
        // What the service says of itself (notify protocol), after its row.
        if let Some(text) = &s.status {
            out.insert_str(out.len() - 1, &format!("  {text}"));
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
