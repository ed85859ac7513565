//! `events.rs`: one struct per event type, the `Event` and `EventKind` enums, the
//! `EventType` impls, and — from the domain-object table — `ObjectKind`, where events name
//! objects (for the scanner and for decoded events) and which events end them.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::ident;
use super::types::{member_setter, model_struct};
use crate::docs;
use crate::ir::{Api, DomainObject, Field, Model, Type};

pub(super) fn file(api: &Api) -> TokenStream {
    let mut out = TokenStream::new();
    for e in &api.events {
        out.extend(model_struct(
            api,
            e,
            &format!(
                "The `{}` event (`\"type\": \"{}\"`). A variant of [`Event`].",
                e.api_name, e.api_name
            ),
            true,
        ));
    }
    out.extend(event_enum(api));
    out.extend(event_kind(api));
    out.extend(object_kind(api));
    out.extend(event_type_impls(api));
    out.extend(reuse_fields(api));
    out
}

/// `reuse_fields`: the `deserialize_with` of each field that names an object, which lets
/// `crate::events::reuse` stand a snapshot decoded before in for the field's value.
fn reuse_fields(api: &Api) -> TokenStream {
    let mut names: Vec<&String> = Vec::new();
    for o in &api.objects {
        for field in o.events.iter().flat_map(|e| &e.fields) {
            if !names.contains(&field) {
                names.push(field);
            }
        }
    }
    let fns = names.iter().map(|field| {
        let name = ident(field);
        let doc = format!(" The field `{field}`.");
        quote! {
            #[doc = #doc]
            pub(crate) fn #name<'de, D, T>(d: D) -> ::std::result::Result<T, D::Error>
            where
                D: ::serde::Deserializer<'de>,
                T: ::serde::Deserialize<'de> + crate::events::reuse::Shared,
            {
                crate::events::reuse::field(#field, d)
            }
        }
    });
    quote! {
        /// The `deserialize_with` of the event fields that name objects (see
        /// `crate::events::reuse`).
        pub(crate) mod reuse_fields {
            #(#fns)*
        }
    }
}

fn names(api: &Api) -> Vec<Ident> {
    api.events.iter().map(|e| ident(&e.name)).collect()
}

fn event_enum(api: &Api) -> TokenStream {
    let names = names(api);
    let api_names: Vec<&str> = api.events.iter().map(|e| e.api_name.as_str()).collect();
    let n = api.events.len();
    let variant_docs = api
        .events
        .iter()
        .map(|e| format!(" `{}`: see [`{}`].", e.api_name, e.name));
    let accessors = accessors(api);
    quote! {
        /// Every event type of this ARI version, as its `type` string, sorted.
        pub const EVENT_TYPES: [&str; #n] = [#(#api_names),*];

        /// An event from Asterisk: one variant per event type, plus [`Event::Unknown`] for
        /// types this version of the spec does not know.
        ///
        /// Decode with [`Event::from_json`] (fast: reads `type`, then decodes only that
        /// type) or through serde with `serde_json` (text, bytes, a reader or a
        /// `Value`), which decodes as `from_json` does. Serializing writes `type` and
        /// the fields back.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            #(#[doc = #variant_docs] #names(::std::boxed::Box<#names>),)*
            /// An event type this version of the spec does not know; the raw JSON is kept.
            Unknown(crate::events::UnknownEvent),
        }

        impl Event {
            /// Decodes one event from its JSON text: reads `type` first, then decodes
            /// the matching event type. An unknown `type` gives [`Event::Unknown`].
            pub fn from_json(json: &str) -> ::std::result::Result<Event, ::serde_json::Error> {
                let kind = crate::events::event_type(json)?;
                Self::from_json_of(EventKind::from_type_name(&kind), json)
            }

            /// Decodes the JSON text of an event whose type is known to be `kind` (the
            /// dispatcher's scan found it already).
            pub(crate) fn from_json_of(kind: EventKind, json: &str) -> ::std::result::Result<Event, ::serde_json::Error> {
                ::std::result::Result::Ok(match kind {
                    #(EventKind::#names => Event::#names(::std::boxed::Box::new(::serde_json::from_str(json)?)),)*
                    EventKind::Unknown => {
                        crate::events::single_type(json)?;
                        Event::Unknown(crate::events::UnknownEvent::new(::serde_json::from_str(json)?)?)
                    }
                })
            }

            /// Decodes one event from a JSON value (see [`from_json`](Self::from_json)).
            pub fn from_value(value: ::serde_json::Value) -> ::std::result::Result<Event, ::serde_json::Error> {
                let kind = match value.get("type").and_then(::serde_json::Value::as_str) {
                    ::std::option::Option::Some(k) => k.to_owned(),
                    ::std::option::Option::None => return ::std::result::Result::Err(<::serde_json::Error as ::serde::de::Error>::missing_field("type")),
                };
                ::std::result::Result::Ok(match kind.as_str() {
                    #(#api_names => Event::#names(::std::boxed::Box::new(::serde_json::from_value(value)?)),)*
                    _ => Event::Unknown(crate::events::UnknownEvent::new(value)?),
                })
            }

            /// The event's type; [`EventKind::Unknown`] for a type this version does not know.
            pub fn kind(&self) -> EventKind {
                match self {
                    #(Event::#names(_) => EventKind::#names,)*
                    Event::Unknown(_) => EventKind::Unknown,
                }
            }

            /// The event's `type` as sent (`"StasisStart"`), also for unknown types.
            pub fn type_name(&self) -> &str {
                match self {
                    #(Event::#names(_) => #api_names,)*
                    Event::Unknown(u) => u.kind(),
                }
            }

            #accessors
        }

        impl ::serde::Serialize for Event {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                match self {
                    #(Event::#names(e) => crate::events::Tagged { kind: #api_names, event: &**e }.serialize(s),)*
                    Event::Unknown(u) => u.raw().serialize(s),
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for Event {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                crate::events::deserialize_event(d)
            }
        }
    }
}

/// Accessors of the fields every event has, and of the objects events name.
fn accessors(api: &Api) -> TokenStream {
    let names = names(api);
    let base = |field: &str| {
        api.events
            .iter()
            .all(|e| e.fields.iter().any(|f| f.name == field))
    };
    let mut out = TokenStream::new();
    if base("application") {
        out.extend(quote! {
            /// The application that received the event.
            pub fn application(&self) -> ::std::option::Option<&str> {
                match self {
                    #(Event::#names(e) => ::std::option::Option::Some(&e.application),)*
                    Event::Unknown(u) => u.raw().get("application").and_then(::serde_json::Value::as_str),
                }
            }
        });
    }
    if base("timestamp") {
        out.extend(quote! {
            /// When the event was created.
            pub fn timestamp(&self) -> ::std::option::Option<crate::Timestamp> {
                match self {
                    #(Event::#names(e) => ::std::option::Option::Some(e.timestamp),)*
                    Event::Unknown(u) => u.raw().get("timestamp").and_then(::serde_json::Value::as_str).and_then(|t| crate::Timestamp::parse(t).ok()),
                }
            }
        });
    }
    if base("asterisk_id") {
        out.extend(quote! {
            /// The id of the Asterisk instance that raised the event.
            pub fn asterisk_id(&self) -> ::std::option::Option<&str> {
                match self {
                    #(Event::#names(e) => e.asterisk_id.as_deref(),)*
                    Event::Unknown(u) => u.raw().get("asterisk_id").and_then(::serde_json::Value::as_str),
                }
            }
        });
    }
    for o in api.objects.iter().filter(|o| o.has_events()) {
        out.extend(object_accessors(api, o));
    }
    out.extend(for_each_object(api));
    out
}

/// The fields of `event` that name an object of kind `o`, in the table's order.
fn naming_fields<'a>(o: &DomainObject, event: &'a Model) -> Vec<&'a Field> {
    let rules = o.events.as_ref().expect("an object with events");
    rules
        .fields
        .iter()
        .filter_map(|field| {
            event
                .fields
                .iter()
                .find(|f| f.api_name == *field && f.ty == Type::Model(o.model.clone()))
        })
        .collect()
}

/// The expression of an object's id, from a snapshot `d` (a `&Arc<Model>`).
fn id_expr(o: &DomainObject) -> TokenStream {
    match o.id.as_slice() {
        [(_, field)] => {
            let f = ident(field);
            quote!(d.#f.as_str())
        }
        parts => {
            let fields = parts.iter().map(|(_, f)| ident(f));
            let fmt = vec!["{}"; parts.len()].join("/");
            quote!(::std::format!(#fmt, #(d.#fields),*).as_str())
        }
    }
}

/// The public accessor of the object's first naming field, and the crate's lookup of the
/// snapshot of one object among all naming fields.
fn object_accessors(api: &Api, o: &DomainObject) -> TokenStream {
    let rules = o.events.as_ref().expect("an object with events");
    let first = &rules.fields[0];
    let model = ident(&o.model);
    let mut public = Vec::new();
    let mut find = Vec::new();
    for e in &api.events {
        let name = ident(&e.name);
        let fields = naming_fields(o, e);
        if let Some(f) = fields.iter().find(|f| f.api_name == *first) {
            let fname = ident(&f.name);
            public.push(if f.required {
                quote!(Event::#name(e) => ::std::option::Option::Some(&e.#fname),)
            } else {
                quote!(Event::#name(e) => e.#fname.as_ref(),)
            });
        }
        if fields.is_empty() {
            continue;
        }
        let id = id_expr(o);
        let candidates = fields.iter().map(|f| {
            let fname = ident(&f.name);
            if f.required {
                quote!(::std::option::Option::Some(&e.#fname))
            } else {
                quote!(e.#fname.as_ref())
            }
        });
        find.push(quote! {
            Event::#name(e) => [#(#candidates),*].into_iter().flatten().find(|d| #id == id),
        });
    }
    let accessor = ident(first);
    let doc = format!(
        " The event's `{first}` field, for the event types that have one: the {} the event is about.",
        o.name
    );
    let finder = format_ident!("find_{}", crate::names::field_name(&o.name));
    let finder_doc = format!(
        " The snapshot of {} `id` that this event names in any of its fields ({}).",
        o.name,
        rules.fields.join(", ")
    );
    quote! {
        #[doc = #doc]
        pub fn #accessor(&self) -> ::std::option::Option<&::std::sync::Arc<crate::models::#model>> {
            match self {
                #(#public)*
                _ => ::std::option::Option::None,
            }
        }

        #[doc = #finder_doc]
        #[allow(dead_code)]
        pub(crate) fn #finder(&self, id: &str) -> ::std::option::Option<&::std::sync::Arc<crate::models::#model>> {
            match self {
                #(#find)*
                _ => ::std::option::Option::None,
            }
        }
    }
}

/// `Event::for_each_object`: every object the event names, in the table's order.
fn for_each_object(api: &Api) -> TokenStream {
    let mut arms = Vec::new();
    for e in &api.events {
        let name = ident(&e.name);
        let mut calls = Vec::new();
        for o in api.objects.iter().filter(|o| o.has_events()) {
            let kind = ident(&o.name);
            let id = id_expr(o);
            for f in naming_fields(o, e) {
                let fname = ident(&f.name);
                calls.push(if f.required {
                    quote! { { let d = &e.#fname; f(ObjectKind::#kind, #id); } }
                } else {
                    quote! { if let ::std::option::Option::Some(d) = &e.#fname { f(ObjectKind::#kind, #id); } }
                });
            }
        }
        if !calls.is_empty() {
            arms.push(quote!(Event::#name(e) => { #(#calls)* }));
        }
    }
    quote! {
        /// Calls `f` with the kind and id of every object the event names, in the order of
        /// [`OBJECT_FIELDS`] (the first one decides where the event is routed).
        #[allow(unused_variables)]
        pub(crate) fn for_each_object(&self, mut f: impl FnMut(ObjectKind, &str)) {
            match self {
                #(#arms)*
                _ => {}
            }
        }
    }
}

fn event_kind(api: &Api) -> TokenStream {
    let names = names(api);
    let api_names: Vec<&str> = api.events.iter().map(|e| e.api_name.as_str()).collect();
    let n = api.events.len();
    let docs = api
        .events
        .iter()
        .map(|e| format!(" `{}`: [`{}`].", e.api_name, e.name));
    let rule = |which: fn(&crate::ir::ObjectEvents) -> &Vec<String>| {
        let arms: Vec<TokenStream> = api
            .objects
            .iter()
            .filter_map(|o| Some((o, o.events.as_ref()?)))
            .flat_map(|(o, rules)| {
                let kind = ident(&o.name);
                which(rules).iter().map(move |event| {
                    let name = ident(&api.model_by_id(event).expect("validated").name);
                    quote!((EventKind::#name, ObjectKind::#kind))
                })
            })
            .collect();
        if arms.is_empty() {
            quote!(false)
        } else {
            quote!(matches!((self, kind), #(#arms)|*))
        }
    };
    // the OBJECT_FIELDS each event type has (the same order as `object_kind` writes them)
    let table: Vec<(&DomainObject, &String)> = api
        .objects
        .iter()
        .filter_map(|o| Some((o, o.events.as_ref()?)))
        .flat_map(|(o, rules)| rules.fields.iter().map(move |f| (o, f)))
        .collect();
    let masks: Vec<(Ident, u64)> = api
        .events
        .iter()
        .map(|e| {
            let mut mask = 0u64;
            for (bit, (o, field)) in table.iter().enumerate() {
                if e.fields
                    .iter()
                    .any(|f| f.api_name == **field && f.ty == Type::Model(o.model.clone()))
                {
                    mask |= 1 << bit;
                }
            }
            (ident(&e.name), mask)
        })
        .collect();
    // at least 1: routing looks at the first object of every event
    let most_objects = masks
        .iter()
        .map(|(_, m)| m.count_ones())
        .max()
        .unwrap_or(0)
        .max(1);
    let most_objects = proc_macro2::Literal::usize_unsuffixed(most_objects as usize);
    let masks = masks.iter().map(|(name, mask)| {
        let mask = proc_macro2::Literal::u64_unsuffixed(*mask);
        quote!(EventKind::#name => #mask,)
    });
    let ends = rule(|r| &r.ends);
    let leaves = rule(|r| &r.leaves);
    quote! {
        /// The type of an [`Event`], without its data.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventKind {
            #(#[doc = #docs] #names,)*
            /// A type this version of the spec does not know (see [`Event::type_name`]).
            Unknown,
        }

        impl EventKind {
            /// Every known event type, sorted by name.
            pub const ALL: [EventKind; #n] = [#(EventKind::#names),*];

            /// The type for a `type` string; [`EventKind::Unknown`] for one this version does not know.
            pub fn from_type_name(name: &str) -> EventKind {
                match name {
                    #(#api_names => EventKind::#names,)*
                    _ => EventKind::Unknown,
                }
            }

            /// The `type` string (`"StasisStart"`); `"Unknown"` for [`EventKind::Unknown`].
            pub fn as_str(self) -> &'static str {
                match self {
                    #(EventKind::#names => #api_names,)*
                    EventKind::Unknown => "Unknown",
                }
            }

            /// The bit mask of the [`OBJECT_FIELDS`] events of this type can have (none for
            /// an unknown type, whose decoded event keeps its raw JSON and names no object).
            #[allow(dead_code)]
            pub(crate) fn object_fields(self) -> u64 {
                match self {
                    #(#masks)*
                    EventKind::Unknown => 0,
                }
            }

            /// Whether an event of this type ends the object of kind `kind` it names.
            #[allow(dead_code)]
            pub(crate) fn ends(self, kind: ObjectKind) -> bool {
                #ends
            }

            /// Whether after an event of this type Asterisk sends nothing more about the
            /// object of kind `kind` it names, unless the application stays subscribed to it.
            #[allow(dead_code)]
            pub(crate) fn leaves(self, kind: ObjectKind) -> bool {
                #leaves
            }
        }

        impl ::std::fmt::Display for EventKind {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// The most [`OBJECT_FIELDS`] one event type has (at least 1): how many objects an
        /// event can name.
        #[allow(dead_code)]
        pub(crate) const MOST_OBJECTS: usize = #most_objects;
    }
}

fn object_kind(api: &Api) -> TokenStream {
    let kinds: Vec<&DomainObject> = api.objects.iter().filter(|o| o.has_events()).collect();
    let names: Vec<Ident> = kinds.iter().map(|o| ident(&o.name)).collect();
    let n = kinds.len();
    let type_names: Vec<&str> = kinds.iter().map(|o| o.name.as_str()).collect();
    let docs = kinds.iter().map(|o| {
        let rules = o.events.as_ref().expect("filtered");
        format!(
            " [`{0}`](crate::objects::{0}), named by the event fields {1}.",
            o.name,
            rules
                .fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    let mut fields = Vec::new();
    let mut field_arms = Vec::new();
    for o in &kinds {
        let kind = ident(&o.name);
        let ids: Vec<&str> =
            o.id.iter()
                .map(|(_, f)| {
                    let model = api.model(&o.model).expect("validated");
                    model
                        .fields
                        .iter()
                        .find(|m| m.name == *f)
                        .map_or(f.as_str(), |m| m.api_name.as_str())
                })
                .collect();
        for field in &o.events.as_ref().expect("filtered").fields {
            let key = proc_macro2::Literal::byte_string(field.as_bytes());
            let index = proc_macro2::Literal::usize_unsuffixed(fields.len());
            field_arms.push(quote!(#key => ::std::option::Option::Some(#index),));
            fields.push(quote!((#field, ObjectKind::#kind, &[#(#ids),*])));
        }
    }
    let sources = kinds.iter().map(|o| {
        let kind = ident(&o.name);
        match &o.events.as_ref().expect("filtered").event_source {
            Some(source) => quote!(ObjectKind::#kind => ::std::option::Option::Some(#source),),
            None => quote!(ObjectKind::#kind => ::std::option::Option::None,),
        }
    });
    let needs_subscription = kinds.iter().map(|o| {
        let kind = ident(&o.name);
        let needs = o.events.as_ref().expect("filtered").end_needs_subscription;
        quote!(ObjectKind::#kind => #needs,)
    });
    let decoders = kinds.iter().map(|o| {
        let kind = ident(&o.name);
        let model = ident(&o.model);
        quote!(ObjectKind::#kind => crate::events::decode_snapshot::<crate::models::#model>(text),)
    });
    let patchers = kinds.iter().map(|o| {
        let kind = ident(&o.name);
        let model = ident(&o.model);
        quote!(ObjectKind::#kind => crate::events::patch_snapshot::<crate::models::#model>(kept, key, value),)
    });
    let mut snapshot_models: Vec<&str> = kinds.iter().map(|o| o.model.as_str()).collect();
    snapshot_models.sort_unstable();
    snapshot_models.dedup();
    let members = snapshot_models.iter().map(|name| {
        let model = api.model(name).expect("validated");
        let ty = ident(name);
        let arms = model.fields.iter().map(|f| {
            let key = &f.api_name;
            let set = member_setter(f);
            quote!(#key => #set,)
        });
        quote! {
            impl crate::events::Members for crate::models::#ty {
                fn set_member<'de, D: ::serde::Deserializer<'de>>(
                    &mut self,
                    key: &str,
                    d: D,
                ) -> ::std::result::Result<(), D::Error> {
                    match key {
                        #(#arms)*
                        _ => {
                            <::serde::de::IgnoredAny as ::serde::Deserialize>::deserialize(d)?;
                        }
                    }
                    ::std::result::Result::Ok(())
                }
            }
        }
    });
    let can_end = kinds.iter().map(|o| {
        let kind = ident(&o.name);
        let rules = o.events.as_ref().expect("filtered");
        let ends = !rules.ends.is_empty() || !rules.leaves.is_empty();
        quote!(ObjectKind::#kind => #ends,)
    });
    let fields_doc = docs::attrs(
        "Where events name objects: `(top-level field, kind, id fields)`, in routing order. An\nid of several fields is their values joined with `/` (an endpoint's `technology/resource`).",
    );
    quote! {
        /// The kinds of domain objects that events name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ObjectKind {
            #(#[doc = #docs] #names,)*
        }

        impl ObjectKind {
            /// Every kind, in routing order.
            pub const ALL: [ObjectKind; #n] = [#(ObjectKind::#names),*];

            /// The name of the object type (`"Channel"`, `"LiveRecording"`).
            pub fn as_str(self) -> &'static str {
                match self {
                    #(ObjectKind::#names => #type_names,)*
                }
            }

            /// The event-source prefix of this kind (`bridge` of `bridge:<id>`), for
            /// `applications.subscribe`.
            #[allow(dead_code)]
            pub(crate) fn event_source(self) -> ::std::option::Option<&'static str> {
                match self {
                    #(#sources)*
                }
            }

            /// Whether Asterisk sends this kind's end event only to applications subscribed
            /// to the object.
            #[allow(dead_code)]
            pub(crate) fn end_needs_subscription(self) -> bool {
                match self {
                    #(#needs_subscription)*
                }
            }

            /// Whether events end objects of this kind (a channel does, an endpoint not).
            #[allow(dead_code)]
            pub(crate) fn can_end(self) -> bool {
                match self {
                    #(#can_end)*
                }
            }

            /// Decodes the snapshot of an object of this kind (its model) at the start of
            /// `text`: the snapshot, shared, and where its text ends.
            #[allow(dead_code)]
            pub(crate) fn decode_snapshot(self, text: &str) -> ::std::result::Result<(::std::sync::Arc<dyn ::std::any::Any + ::std::marker::Send + ::std::marker::Sync>, usize), ::serde_json::Error> {
                match self {
                    #(#decoders)*
                }
            }

            /// The snapshot `kept` of an object of this kind with its member `key` set from
            /// `value`, the JSON text of that member's value (see
            /// [`crate::events::patch_snapshot`]).
            #[allow(dead_code)]
            pub(crate) fn patch_snapshot(
                self,
                kept: &(dyn ::std::any::Any + ::std::marker::Send + ::std::marker::Sync),
                key: &str,
                value: &str,
            ) -> ::std::option::Option<::std::sync::Arc<dyn ::std::any::Any + ::std::marker::Send + ::std::marker::Sync>> {
                match self {
                    #(#patchers)*
                }
            }

            /// The position of this kind in [`ObjectKind::ALL`].
            #[allow(dead_code)]
            pub(crate) const fn index(self) -> usize {
                self as usize
            }
        }

        impl ::std::fmt::Display for ObjectKind {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #(#members)*

        #fields_doc
        #[allow(dead_code)]
        pub(crate) const OBJECT_FIELDS: &[(&str, ObjectKind, &[&str])] = &[#(#fields),*];

        /// The index in [`OBJECT_FIELDS`] of the field named `key` (a `match`, for the scan of
        /// every event's members).
        #[allow(dead_code)]
        pub(crate) fn object_field(key: &[u8]) -> ::std::option::Option<usize> {
            match key {
                #(#field_arms)*
                _ => ::std::option::Option::None,
            }
        }
    }
}

fn event_type_impls(api: &Api) -> TokenStream {
    let impls = api.events.iter().map(|e| {
        let name = ident(&e.name);
        let api_name = &e.api_name;
        quote! {
            impl crate::events::sealed::Sealed for #name {}
            impl crate::events::EventType for #name {
                const NAME: &'static str = #api_name;
                const KIND: EventKind = EventKind::#name;
                fn from_event(event: Event) -> ::std::option::Option<Self> {
                    match event {
                        Event::#name(e) => ::std::option::Option::Some(*e),
                        _ => ::std::option::Option::None,
                    }
                }
                fn from_ref(event: &Event) -> ::std::option::Option<&Self> {
                    match event {
                        Event::#name(e) => ::std::option::Option::Some(e),
                        _ => ::std::option::Option::None,
                    }
                }
            }
            impl ::std::convert::From<#name> for Event {
                fn from(e: #name) -> Self {
                    Event::#name(::std::boxed::Box::new(e))
                }
            }
        }
    });
    quote!(#(#impls)*)
}
