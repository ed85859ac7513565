//! Identifier conversion: `heck` plus an override table for the names it gets wrong or
//! that are Rust keywords. The tests at the end pin the tricky cases.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Type names (models, events) that `heck` would split badly.
pub const TYPE_OVERRIDES: &[(&str, &str)] = &[
    ("RTPstat", "RtpStat"),
    ("RESTResponse", "RestResponse"),
    ("RESTRequest", "RestRequest"),
    ("RESTHeader", "RestHeader"),
    ("RESTQueryStringParameter", "RestQueryStringParameter"),
    ("CallerID", "CallerId"),
    ("DialplanCEP", "DialplanCep"),
];

/// Method names (from nicknames) that are keywords or that `heck` would split badly.
pub const METHOD_OVERRIDES: &[(&str, &str)] = &[
    ("sendDTMF", "send_dtmf"),
    ("rtpstatistics", "rtp_statistics"),
    ("move", "move_to_app"),
    ("externalMedia", "external_media"),
    ("transfer_progress", "transfer_progress"),
];

/// Field and parameter names that are keywords or that `heck` would split badly.
/// `type` becomes `kind` (with `#[serde(rename = "type")]` on models).
pub const FIELD_OVERRIDES: &[(&str, &str)] = &[("type", "kind"), ("absorbDTMF", "absorb_dtmf")];

/// Enum values that are not words.
pub const VARIANT_OVERRIDES: &[(&str, &str)] = &[("*", "Star"), ("#", "Hash")];

/// Names of enum types of model properties, by `(model, property)`.
pub const PROPERTY_ENUM_OVERRIDES: &[(&str, &str, &str)] = &[
    ("DeviceState", "state", "DeviceStateValue"),
    ("Bridge", "bridge_type", "BridgeType"),
];

/// Rust keywords (strict and reserved, all editions).
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// True for a Rust keyword.
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The Rust type name of a model or event (`RTPstat` → `RtpStat`).
pub fn type_name(api: &str) -> String {
    lookup(TYPE_OVERRIDES, api).map_or_else(|| api.to_upper_camel_case(), str::to_owned)
}

/// The method name of an operation nickname (`sendDTMF` → `send_dtmf`).
pub fn method_name(nickname: &str) -> String {
    lookup(METHOD_OVERRIDES, nickname).map_or_else(|| nickname.to_snake_case(), str::to_owned)
}

/// The stem of type names made from an operation (`sendDTMF` → `SendDtmf`,
/// `move` → `MoveToApp`): parameter enums are named with it.
pub fn operation_stem(nickname: &str) -> String {
    method_name(nickname).to_upper_camel_case()
}

/// Singular nouns of resources that are not the resource name minus its final `s`.
pub const SINGULAR_OVERRIDES: &[(&str, &str)] =
    &[("mailboxes", "Mailbox"), ("asterisk", "Asterisk")];

/// The singular noun of a resource, as a type name prefix (`channels` → `Channel`,
/// `deviceStates` → `DeviceState`, `mailboxes` → `Mailbox`).
pub fn resource_singular(resource: &str) -> String {
    lookup(SINGULAR_OVERRIDES, resource).map_or_else(
        || {
            let name = resource.to_upper_camel_case();
            name.strip_suffix('s').map_or(name.clone(), str::to_owned)
        },
        str::to_owned,
    )
}

/// The builder type name of an operation: the resource's singular noun, then the operation
/// (`channels.get` → `ChannelGet`, `channels.sendDTMF` → `ChannelSendDtmf`), so that every
/// builder of the API has a name of its own.
pub fn builder_name(resource: &str, nickname: &str) -> String {
    format!(
        "{}{}",
        resource_singular(resource),
        operation_stem(nickname)
    )
}

/// The field name of a property or parameter (`absorbDTMF` → `absorb_dtmf`, `type` → `kind`).
pub fn field_name(api: &str) -> String {
    lookup(FIELD_OVERRIDES, api).map_or_else(|| api.to_snake_case(), str::to_owned)
}

/// The module name of a resource (`deviceStates` → `device_states`).
pub fn module_name(resource: &str) -> String {
    resource.to_snake_case()
}

/// `Client` accessors of resources whose module name is taken: `Client::events()` is the
/// event stream, so the `events` resource is `Client::events_api()`.
pub const ACCESSOR_OVERRIDES: &[(&str, &str)] = &[("events", "events_api")];

/// The name of the `Client` method that returns a resource's repository
/// (`deviceStates` → `device_states`, `events` → `events_api`).
pub fn accessor_name(resource: &str) -> String {
    lookup(ACCESSOR_OVERRIDES, resource).map_or_else(|| module_name(resource), str::to_owned)
}

/// The repository type name of a resource (`deviceStates` → `DeviceStates`).
pub fn repository_name(resource: &str) -> String {
    resource.to_upper_camel_case()
}

/// The variant name of an enum value (`Dialing Offhook` → `DialingOffhook`,
/// `NOT_INUSE` → `NotInuse`, `*` → `Star`). `None` when no identifier can be made.
pub fn variant_name(value: &str) -> Option<String> {
    if let Some(v) = lookup(VARIANT_OVERRIDES, value) {
        return Some(v.to_owned());
    }
    let mut name = value.to_upper_camel_case();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'V');
    }
    Some(name)
}

/// The enum type name of a property with a LIST of values (`Channel.state` → `ChannelState`).
pub fn property_enum_name(model: &str, property: &str) -> String {
    if let Some((_, _, name)) = PROPERTY_ENUM_OVERRIDES
        .iter()
        .find(|(m, p, _)| *m == model && *p == property)
    {
        return (*name).to_owned();
    }
    format!("{}{}", type_name(model), property.to_upper_camel_case())
}

/// The enum type name of a parameter with a LIST of values
/// (`hangup.reason` → `HangupReason`).
pub fn parameter_enum_name(nickname: &str, param: &str) -> String {
    format!(
        "{}{}",
        operation_stem(nickname),
        field_name(param).to_upper_camel_case()
    )
}

/// A type name as a noun in prose (`LiveRecording` → `live recording`).
pub(crate) fn noun(type_name: &str) -> String {
    type_name.to_snake_case().replace('_', " ")
}

/// True when `s` is usable as a (possibly raw) Rust identifier.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && s != "_"
}
