//! Key paths (`accounts[1].tokenEnv`) and where they are in the text: a second pass of the
//! YAML deserializer that stops at a key path and reports its position.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

pub(super) fn key(name: &str) -> Seg {
    Seg::Key(name.to_owned())
}

pub(super) fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => {
                out.push_str(&format!("[{i}]"));
            }
        }
    }
    out
}

pub(super) fn segs_from(path: &serde_path_to_error::Path) -> Vec<Seg> {
    let mut out = Vec::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Map { key } => out.push(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => out.push(Seg::Index(*index)),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => break,
        }
    }
    out
}

/// Marker put in the error that the locator raises on reaching its target.
pub(super) const FOUND: &str = "\u{1}cockpit-config-locate\u{1}";

/// The 1-based line and column of `path` in `text`: of the key for a path ending in a key
/// (its `nth` occurrence, 1-based, for duplicated keys), of the value for a path ending in an
/// index. Walks serde_yaml's own event stream, so every YAML style is understood.
pub(super) fn locate(text: &str, path: &[Seg], nth: usize) -> Option<(usize, usize)> {
    let result = Locate { path, nth }.deserialize(serde_yaml::Deserializer::from_str(text));
    match result {
        Err(err) if err.to_string().contains(FOUND) => err.location().map(|loc| (loc.line(), loc.column())),
        _ => None,
    }
}

/// [`locate`] for `path`, else for its longest prefix that can be found; else line 1.
pub(super) fn locate_best(text: &str, path: &[Seg], nth: usize) -> (usize, Option<usize>) {
    for len in (0..=path.len()).rev() {
        let nth = if len == path.len() { nth } else { 1 };
        if let Some((line, column)) = locate(text, &path[..len], nth) {
            return (line, Some(column));
        }
    }
    (1, None)
}

pub(super) struct Locate<'a> {
    path: &'a [Seg],
    nth: usize,
}

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.path.first() {
            None => deserializer.deserialize_any(Here),
            Some(Seg::Key(_)) => deserializer.deserialize_map(self),
            Some(Seg::Index(_)) => deserializer.deserialize_seq(self),
        }
    }
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom("not found"));
        };
        let mut seen = 0;
        loop {
            let fail_on_match = rest.is_empty() && seen + 1 == self.nth;
            let Some(matched) = map.next_key_seed(KeySeed { want, fail_on_match })? else {
                return Err(de::Error::custom("not found"));
            };
            if matched {
                seen += 1;
                if !rest.is_empty() {
                    return map.next_value_seed(Locate { path: rest, nth: self.nth });
                }
            }
            map.next_value::<IgnoredAny>()?;
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom("not found"));
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom("not found"));
            }
        }
        match seq.next_element_seed(Locate { path: rest, nth: self.nth })? {
            Some(()) | None => Err(de::Error::custom("not found")),
        }
    }
}

/// Fails on whatever value it is given, with [`FOUND`] in the message (serde_yaml adds the
/// value's position).
pub(super) struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FOUND)
    }
}

/// Deserializes a mapping key: `Ok(true)` when it is `want`, or fails with [`FOUND`] (at the
/// key's position) when it is and `fail_on_match`.
pub(super) struct KeySeed<'a> {
    want: &'a str,
    fail_on_match: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        if v != self.want {
            Ok(false)
        } else if self.fail_on_match {
            Err(E::custom(FOUND))
        } else {
            Ok(true)
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}
