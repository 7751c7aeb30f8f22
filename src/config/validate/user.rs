//! Validation of `[user]`: its ids, and every value that init writes into
//! /etc/passwd, /etc/group and /etc/shadow (entries.rs says what may go
//! there), so a `home` or `shell` rendered from the environment cannot add a
//! line of its own, and a home cannot be a system directory.

use super::*;
use crate::entries;

impl Validator<'_> {
    fn id(&mut self, n: &Num, what: &str) -> Option<(u32, Option<u32>)> {
        let text = match n.get_ref() {
            IntOrStr::Int(i) => i.to_string(),
            IntOrStr::Str(s) => self.text(&Spanned::new(span_of(n), s.clone()))?,
        };
        if self.unneeded(&text) {
            return None;
        }
        let parse = |t: &str| t.trim().parse::<u32>().ok().filter(|&id| id != u32::MAX);
        let parsed = match text.split_once(':') {
            None => parse(&text).map(|id| (id, None)),
            Some((u, g)) => parse(u).zip(parse(g)).map(|(u, g)| (u, Some(g))),
        };
        if parsed.is_none() {
            self.problem(span_of(n), format!("invalid {what} {text:?} (a number, or uid:gid)"));
        }
        parsed
    }

    /// A field of a `[user]` switched off (its name renders empty) that
    /// renders empty too is not given: `gid = "<<USER_GID>>"` with USER_GID
    /// set from an unset USER_UID (`"<<USER_UID:->>"`) is no wrong value
    /// when there is no user to give it to. A value that is there is still
    /// checked, as in any part switched off.
    fn unneeded(&self, text: &str) -> bool {
        self.scope == Scope::Off && text.trim().is_empty()
    }

    /// A value of `[user]` checked by `valid`; the problem names the field.
    fn entry_field(
        &mut self,
        s: &Str,
        field: &str,
        valid: fn(&str) -> Result<(), entries::Error>,
    ) -> Option<String> {
        let text = self.text(s).filter(|t| !self.unneeded(t))?;
        valid(&text).map(|()| text).map_err(|e| self.problem(span_of(s), format!("[user] {field} {e}"))).ok()
    }

    /// `[user]`; `None` also when its `name` renders empty: then there is
    /// no runtime user, and its other fields (a uid variable needed only
    /// with a name) are left aside as a part switched off is
    /// (docs/reference.md, "One-off work").
    pub fn user(&mut self, raw: &RawUser) -> Option<RuntimeUser> {
        let Some(name) = &raw.name else {
            self.problem_at(0, "[user] needs a `name`".into());
            return self.user_fields(raw, None);
        };
        let rendered = self.text(name);
        match rendered {
            Some(text) if text.is_empty() => {
                let why = format!("name = {:?} renders empty: children run as init", name.get_ref());
                self.switched_off(span_of(name).start, "[user]", None, why);
                let _ = self.user_fields(raw, None);
                self.scope = Scope::Always;
                None
            }
            text => {
                let valid = |t: String| entries::name(&t).map(|()| t).map_err(|e| format!("[user] name {e}"));
                let name = text.and_then(|t| valid(t).map_err(|e| self.problem(span_of(name), e)).ok());
                self.user_fields(raw, name)
            }
        }
    }

    /// `[shell] workdir`: an absolute path (it may render empty: then the
    /// user's home, as without it).
    pub fn shell(&mut self, raw: &RawShell) -> Option<PathBuf> {
        let given = raw.workdir.as_ref()?;
        let text = self.text(given).filter(|t| !t.is_empty())?;
        if !text.starts_with('/') {
            self.problem(span_of(given), format!("[shell] workdir {text:?} must be an absolute path"));
            return None;
        }
        Some(PathBuf::from(text))
    }

    fn user_fields(&mut self, raw: &RawUser, name: Option<String>) -> Option<RuntimeUser> {
        let mut user =
            RuntimeUser { no_new_privileges: flag(&raw.no_new_privileges, false), ..Default::default() };
        if let Some((uid, gid)) = raw.uid.as_ref().and_then(|n| self.id(n, "uid")) {
            user.uid = Some(uid);
            user.gid = gid;
        }
        if let Some((gid, _)) = raw.gid.as_ref().and_then(|n| self.id(n, "gid")) {
            user.gid = Some(gid);
        }
        user.home =
            raw.home.as_ref().and_then(|s| self.entry_field(s, "home", entries::home)).map(PathBuf::from);
        user.shell =
            raw.shell.as_ref().and_then(|s| self.entry_field(s, "shell", entries::path)).map(PathBuf::from);
        for g in raw.groups.iter().flatten() {
            if let Some(g) = self.entry_field(g, "groups", entries::name) {
                user.groups.push(g);
            }
        }
        user.name = name?;
        Some(user)
    }
}
