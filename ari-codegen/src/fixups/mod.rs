//! Corrections of the spec before it is resolved, in two kinds kept apart:
//!
//! - [`upstream_bugs`]: named fixes of known bugs in Asterisk's spec files. Each documents the
//!   bug and returns an error when the bug is no longer there, so that an upstream fix is
//!   noticed (in strict mode the generator fails; otherwise the fixup is skipped and reported).
//! - [`special_cases`]: shapes of the spec that are not bugs but that the spec gives no way to
//!   tell (the one operation whose body is read differently, the operation the runtime opens
//!   itself, the abstract bases of the event tree). Each is checked against the spec too.
//!
//! Both are described, with their sources, in `docs/ari-spec-notes.md` (§3.7 and "Fixups").

pub mod special_cases;
pub(crate) mod upstream_bugs;

use crate::spec::Spec;
use crate::Error;

pub use upstream_bugs::FIXUPS;
pub(crate) use upstream_bugs::U32_TYPE;

/// A named fix of an upstream spec bug.
#[derive(Debug)]
pub struct Fixup {
    /// Short name.
    pub name: &'static str,
    /// The bug it fixes, and where.
    pub bug: &'static str,
    apply: fn(&mut Spec) -> Result<(), String>,
}

/// The fixups that were applied, by name, and the skipped ones with why.
pub(crate) type FixupReport = (Vec<&'static str>, Vec<(&'static str, String)>);

/// Applies all [`FIXUPS`]. Returns the names of the applied ones and the skipped ones
/// with the reason; in `strict` mode a fixup that does not apply is an error.
/// Special cases that no longer apply are errors in strict mode too.
pub(crate) fn apply_all(spec: &mut Spec, strict: bool) -> Result<FixupReport, Error> {
    let mut applied = Vec::new();
    let mut skipped = Vec::new();
    for fixup in FIXUPS {
        // a failed fixup must not leave a half-applied change behind
        let mut copy = spec.clone();
        match (fixup.apply)(&mut copy) {
            Ok(()) => {
                *spec = copy;
                applied.push(fixup.name);
            }
            Err(why) if strict => {
                return Err(Error::new(
                    "fixups",
                    "",
                    format!(
                        "fixup `{}` no longer applies ({why}); it fixes: {}. Remove it if upstream fixed the bug",
                        fixup.name, fixup.bug
                    ),
                ))
            }
            Err(why) => skipped.push((fixup.name, why)),
        }
    }
    for (name, why) in special_cases::check(spec) {
        if strict {
            return Err(Error::new(
                "fixups",
                "",
                format!("special case `{name}` no longer applies: {why}"),
            ));
        }
        skipped.push((name, why));
    }
    Ok((applied, skipped))
}
