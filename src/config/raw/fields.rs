//! `Fields`: one TOML table of init.toml read key by key, each value with
//! its span, every wrong type and unknown key collected.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{BoolOrStr, IntOrStr, Num, Str, StrTable, Switch};

/// One TOML table being read. Fields are taken by name; `finish` reports
/// every key nobody took.
pub struct Fields<'a, 'i> {
    table: &'a DeTable<'i>,
    span: Range<usize>,
    what: &'static str,
    known: Vec<&'static str>,
    pub problems: Vec<(Range<usize>, String)>,
}

impl<'a, 'i> Fields<'a, 'i> {
    /// Starts reading `value` as the table `what`; `None` (with a problem) if it is not a table.
    pub fn of(value: &'a Spanned<DeValue<'i>>, what: &'static str) -> Result<Self, (Range<usize>, String)> {
        match value.get_ref() {
            DeValue::Table(table) => {
                Ok(Fields { table, span: value.span(), what, known: Vec::new(), problems: Vec::new() })
            }
            other => Err((value.span(), format!("{what} must be a table, not {}", other.type_str()))),
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.known.push(key);
        self.table.get(key)
    }

    fn wrong(&mut self, key: &str, value: &Spanned<DeValue<'_>>, want: &str) {
        let msg = format!("`{key}` must be {want}, not {}", value.get_ref().type_str());
        self.problems.push((value.span(), msg));
    }

    pub fn str(&mut self, key: &'static str) -> Option<Str> {
        let v = self.get(key)?;
        match as_str(v) {
            Some(s) => Some(s),
            None => {
                self.wrong(key, v, "a string");
                None
            }
        }
    }

    /// A field that must be there.
    pub fn required(&mut self, key: &'static str) -> Option<Str> {
        if !self.table.contains_key(key) {
            let msg = format!("{} is missing `{key}`", self.what);
            self.problems.push((self.span.clone(), msg));
        }
        self.str(key)
    }

    pub fn num(&mut self, key: &'static str) -> Option<Num> {
        let v = self.get(key)?;
        let n = match v.get_ref() {
            DeValue::String(s) => Some(IntOrStr::Str(s.to_string())),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(IntOrStr::Int),
            _ => None,
        };
        if n.is_none() {
            self.wrong(key, v, "a string or an integer");
        }
        n.map(|n| Spanned::new(v.span(), n))
    }

    pub fn int(&mut self, key: &'static str) -> Option<Spanned<i64>> {
        let v = self.get(key)?;
        let n = v.get_ref().as_integer().and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok());
        if n.is_none() {
            self.wrong(key, v, "an integer");
        }
        n.map(|n| Spanned::new(v.span(), n))
    }

    pub fn bool(&mut self, key: &'static str) -> Option<Spanned<bool>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Spanned::new(v.span(), *b)),
            _ => {
                self.wrong(key, v, "true or false");
                None
            }
        }
    }

    /// `enabled`: a boolean, or a string rendered to one.
    pub fn switch(&mut self, key: &'static str) -> Option<Switch> {
        let v = self.get(key)?;
        let b = match v.get_ref() {
            DeValue::Boolean(b) => Some(BoolOrStr::Bool(*b)),
            DeValue::String(s) => Some(BoolOrStr::Str(s.to_string())),
            _ => None,
        };
        if b.is_none() {
            self.wrong(key, v, "true, false or a string");
        }
        b.map(|b| Spanned::new(v.span(), b))
    }

    pub fn strs(&mut self, key: &'static str) -> Option<Vec<Str>> {
        let v = self.get(key)?;
        let list =
            v.get_ref().as_array().and_then(|items| items.iter().map(as_str).collect::<Option<Vec<_>>>());
        if list.is_none() {
            self.wrong(key, v, "an array of strings");
        }
        list
    }

    pub fn table(&mut self, key: &'static str) -> Option<StrTable> {
        let v = self.get(key)?;
        let table = v.get_ref().as_table().and_then(strings_in_file_order);
        if table.is_none() {
            self.wrong(key, v, "a table of strings");
        }
        table
    }

    /// A nested table, read with `read`.
    pub fn sub<T>(
        &mut self,
        key: &'static str,
        what: &'static str,
        read: impl FnOnce(&mut Fields) -> Option<T>,
    ) -> Option<Spanned<T>> {
        let v = self.get(key)?;
        let mut f = match Fields::of(v, what) {
            Ok(f) => f,
            Err(p) => {
                self.problems.push(p);
                return None;
            }
        };
        let t = read(&mut f);
        self.problems.extend(f.finish());
        t.map(|t| Spanned::new(v.span(), t))
    }

    /// Every problem, unknown keys included.
    pub fn finish(mut self) -> Vec<(Range<usize>, String)> {
        let expected = self.known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        for (key, _) in self.table.iter() {
            if !self.known.contains(&key.get_ref().as_ref()) {
                let msg =
                    format!("unknown field `{}` in {}, expected one of {expected}", key.get_ref(), self.what);
                self.problems.push((key.span(), msg));
            }
        }
        self.problems
    }
}

fn as_str(v: &Spanned<DeValue<'_>>) -> Option<Str> {
    v.get_ref().as_str().map(|s| Spanned::new(v.span(), s.to_string()))
}

/// A table whose values are all strings, sorted back into file order.
pub fn strings_in_file_order(table: &DeTable<'_>) -> Option<StrTable> {
    let mut entries = Vec::with_capacity(table.len());
    for (k, v) in table.iter() {
        entries.push((Spanned::new(k.span(), k.get_ref().to_string()), as_str(v)?));
    }
    entries.sort_by_key(|(k, _)| k.span().start);
    Some(entries)
}
