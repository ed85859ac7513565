//! Named fixes of known bugs in Asterisk's spec files (`docs/ari-spec-notes.md` §3.7).

use super::Fixup;
use crate::spec::{ErrorCode, Spec};

/// The integer type that [`RTPSTAT_UNSIGNED`] gives to unsigned counters; it is not a
/// Swagger type, only fixups produce it.
pub(crate) const U32_TYPE: &str = "x-uint32";

/// `Channel.state` says `Rsrved`, the server sends `Rsrvd` and also `Mute`.
pub(crate) const CHANNEL_STATE_RSRVD: Fixup = Fixup {
    name: "channel_state_rsrvd",
    bug: "channels.json#/models/Channel/properties/state lists `Rsrved`, but Asterisk sends \
          `Rsrvd` (main/channel.c ast_state2str), and it lacks `Mute`",
    apply: |spec| {
        let values = enum_values(spec, "Channel", "state")?;
        let pos = values
            .iter()
            .position(|v| v == "Rsrved")
            .ok_or("`Rsrved` is no longer listed")?;
        values[pos] = "Rsrvd".into();
        if !values.iter().any(|v| v == "Mute") {
            values.push("Mute".into());
        }
        Ok(())
    },
};

/// `Playback.state` lacks `paused`.
pub(crate) const PLAYBACK_STATE_PAUSED: Fixup = Fixup {
    name: "playback_state_paused",
    bug: "playbacks.json#/models/Playback/properties/state lacks `paused`, which \
          res/res_stasis_playback.c sends for a paused playback",
    apply: |spec| {
        let values = enum_values(spec, "Playback", "state")?;
        if values.iter().any(|v| v == "paused") {
            return Err("`paused` is already listed".into());
        }
        values.push("paused".into());
        Ok(())
    },
};

/// RTPstat's unsigned counters are typed `int`.
pub(crate) const RTPSTAT_UNSIGNED: Fixup = Fixup {
    name: "rtpstat_unsigned",
    bug: "channels.json#/models/RTPstat types local_ssrc, remote_ssrc, txoctetcount and \
          rxoctetcount as `int`; they are C `unsigned int` and exceed 2^31-1 \
          (include/asterisk/rtp_engine.h)",
    apply: |spec| {
        let (_, model) = spec
            .model_mut("RTPstat")
            .ok_or("model RTPstat is missing")?;
        for name in ["local_ssrc", "remote_ssrc", "txoctetcount", "rxoctetcount"] {
            let p = model
                .properties
                .get_mut(name)
                .ok_or_else(|| format!("RTPstat.{name} is missing"))?;
            if p.ty != "int" {
                return Err(format!("RTPstat.{name} is no longer `int` but `{}`", p.ty));
            }
            p.ty = U32_TYPE.into();
        }
        Ok(())
    },
};

/// channels `move` writes its error codes as strings.
pub(crate) const MOVE_STRING_CODES: Fixup = Fixup {
    name: "move_string_codes",
    bug: "channels.json#/apis/4/operations/0/errorResponses (`move`) writes the codes as \
          strings (\"404\", \"409\"); every other code is a number",
    apply: |spec| {
        let op = spec
            .operation_mut("channels", "move")
            .ok_or("operation channels.move is missing")?;
        let mut fixed = 0;
        for e in &mut op.error_responses {
            if let ErrorCode::Str(s) = &e.code {
                let n = s
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| format!("error code {s:?} is not a number"))?;
                e.code = ErrorCode::Int(n);
                fixed += 1;
            }
        }
        if fixed == 0 {
            return Err("all its error codes are numbers now".into());
        }
        Ok(())
    },
};

/// Every fixup, in the order they are applied.
pub const FIXUPS: &[Fixup] = &[
    CHANNEL_STATE_RSRVD,
    PLAYBACK_STATE_PAUSED,
    RTPSTAT_UNSIGNED,
    MOVE_STRING_CODES,
];

fn enum_values<'a>(
    spec: &'a mut Spec,
    model: &str,
    prop: &str,
) -> Result<&'a mut Vec<String>, String> {
    let (_, m) = spec
        .model_mut(model)
        .ok_or_else(|| format!("model {model} is missing"))?;
    let p = m
        .properties
        .get_mut(prop)
        .ok_or_else(|| format!("{model}.{prop} is missing"))?;
    match &mut p.allowable_values {
        Some(av) if av.value_type == "LIST" => Ok(&mut av.values),
        _ => Err(format!("{model}.{prop} has no LIST of allowable values")),
    }
}
