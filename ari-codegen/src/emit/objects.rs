//! `objects.rs`: the domain objects of the IR's table. Each is its model's data (shared
//! with the event it came from) plus the client; kinds that events name also take event
//! handlers, and kinds with creators get a pending form for subscribe-before-create.
//!
//! What the objects do at run time is the runtime's (`crate::objects`); this file only
//! names it once per kind.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::ident;
use crate::docs;
use crate::ir::{Api, DomainObject};
use crate::names;

/// `cluster.rs`: for each kind that events name, the cluster's `on_<kind>_event`, which
/// registers the handler on every node's client (included into the runtime's `cluster`
/// module, above `objects`).
pub(super) fn cluster_file(api: &Api) -> TokenStream {
    let mut out = TokenStream::new();
    for o in api.objects.iter().filter(|o| o.has_events()) {
        let name = ident(&o.name);
        let kind_handler = format_ident!("on_{}_event", names::field_name(&o.name));
        let doc = docs::attrs(&format!(
            "Calls `handler` with the [`{0}`](crate::objects::{0}) and the event, for every event of type `E` that names a {1}, on every node: [`Client::{2}`](crate::Client::{2}) on each node's client. The {1} is the node's: its methods go to that node.",
            o.name,
            names::noun(&o.name),
            kind_handler,
        ));
        out.extend(quote! {
            impl crate::cluster::Cluster {
                #doc
                pub fn #kind_handler<E, F, Fut>(&self, handler: F) -> crate::cluster::Subscriptions
                where
                    E: crate::EventType + ::std::marker::Send + 'static,
                    F: ::std::ops::Fn(crate::objects::#name, E) -> Fut + ::std::marker::Send + ::std::marker::Sync + 'static,
                    Fut: ::std::future::Future<Output = crate::Result<()>> + ::std::marker::Send + 'static,
                {
                    let handler = ::std::sync::Arc::new(handler);
                    self.on_each_node(move |client| {
                        let handler = handler.clone();
                        client.#kind_handler(move |object: crate::objects::#name, event: E| handler(object, event))
                    })
                }
            }
        });
    }
    out
}

pub(super) fn file(api: &Api) -> TokenStream {
    let mut out = TokenStream::new();
    for o in &api.objects {
        out.extend(object(api, o));
        if o.has_events() {
            out.extend(with_events(o));
        }
        if o.events.as_ref().is_some_and(|e| !e.creators.is_empty()) {
            out.extend(pending(api, o));
        }
    }
    out
}

fn object(api: &Api, o: &DomainObject) -> TokenStream {
    let name = ident(&o.name);
    let model = ident(&o.model);
    let resource = &api.resources[o.resource];
    let mut doc = format!(
        "{}\n\nThe data ([`models::{m}`](crate::models::{m})) as fetched or as last seen in an event, which the object dereferences to, plus its client: every operation of `{}` on `{}` is a method.",
        docs::sentence(Some(&o.doc), ""),
        resource.api_name,
        o.path,
        m = o.model,
    );
    if o.has_events() {
        doc.push_str(" It also takes event handlers ([`on_event`](Self::on_event)).");
    }
    let docs = docs::attrs(&doc);
    quote! {
        #docs
        #[derive(Clone)]
        pub struct #name {
            data: ::std::sync::Arc<crate::models::#model>,
            client: crate::Client,
        }

        impl #name {
            pub(crate) fn from_shared(data: ::std::sync::Arc<crate::models::#model>, client: crate::Client) -> Self {
                Self { data, client }
            }

            /// The data as it was when this object was fetched or last seen in an event.
            pub fn data(&self) -> &crate::models::#model {
                &self.data
            }

            /// The data, shared with the event it came from (no copy is made).
            pub fn shared_data(&self) -> &::std::sync::Arc<crate::models::#model> {
                &self.data
            }

            /// Takes the data out (copying it only if it is still shared).
            pub fn into_data(self) -> crate::models::#model {
                ::std::sync::Arc::unwrap_or_clone(self.data)
            }

            /// The client this object belongs to.
            pub fn client(&self) -> &crate::Client {
                &self.client
            }
        }

        impl ::std::ops::Deref for #name {
            type Target = crate::models::#model;

            fn deref(&self) -> &crate::models::#model {
                &self.data
            }
        }

        impl ::std::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.data, f)
            }
        }

        /// Serializes the data, as Asterisk sends it.
        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&*self.data, s)
            }
        }

        impl crate::objects::private::Sealed for crate::models::#model {}

        impl crate::objects::DomainModel for crate::models::#model {
            type Object = #name;

            fn into_object(data: ::std::sync::Arc<Self>, client: crate::Client) -> #name {
                #name::from_shared(data, client)
            }
        }
    }
}

/// The id of an object as the runtime keys it, from `self.data`.
fn object_id(o: &DomainObject) -> TokenStream {
    match o.id.as_slice() {
        [(_, field)] => {
            let f = ident(field);
            quote!(::std::borrow::Cow::Borrowed(self.data.#f.as_str()))
        }
        parts => {
            let fields = parts.iter().map(|(_, f)| ident(f));
            let fmt = vec!["{}"; parts.len()].join("/");
            quote!(::std::borrow::Cow::Owned(
                ::std::format!(#fmt, #(self.data.#fields),*)
            ))
        }
    }
}

fn with_events(o: &DomainObject) -> TokenStream {
    let name = ident(&o.name);
    let kind = ident(&o.name);
    let finder = format_ident!("find_{}", names::field_name(&o.name));
    let id = object_id(o);
    let rules = o.events.as_ref().expect("an object with events");
    let fields = rules
        .fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    let noun = names::noun(&o.name);
    let on_event_doc = docs::attrs(&format!(
        "Calls `handler` for every event of type `E` about this {noun}, with the {noun} as the event describes it. Released automatically when the {noun} ends, or earlier through the returned [`Subscription`](crate::Subscription).\n\nAn event is about this {noun} when its field {fields} names it. Handlers run in order with the other events of the {noun}, as described at [`Client::on_event`](crate::Client::on_event)."
    ));
    let next_doc = docs::attrs(&format!(
        "The next event of type `E` about this {noun}, from now on: registered at once, so an event that arrives before the first poll is not missed. It works inside this {noun}'s own handlers too. See [`Wait`] for the timeout and the errors ([`ErrorKind::Ended`](crate::ErrorKind::Ended) when the {noun} ends first)."
    ));
    let events_doc = docs::attrs(&format!(
        "The events of type `E` about this {noun} from now on, as a stream that ends when the {noun} ends (with its end event, when that is of type `E`). Unlike calling [`next`](Self::next) in a loop, it misses no event between two calls."
    ));
    let kind_handler = format_ident!("on_{}_event", names::field_name(&o.name));
    let kind_doc = docs::attrs(&format!(
        "Calls `handler` with the [`{0}`](crate::objects::{0}) and the event, for every event of type `E` that names a {noun} (in its field {fields}).",
        o.name
    ));
    quote! {
        impl crate::objects::EventObject for #name {
            const KIND: crate::ObjectKind = crate::ObjectKind::#kind;

            fn from_event(event: &crate::Event, id: &str, client: crate::Client) -> ::std::option::Option<Self> {
                event.#finder(id).map(|data| Self::from_shared(data.clone(), client))
            }

            fn object_id(&self) -> ::std::borrow::Cow<'_, str> {
                #id
            }
        }

        impl #name {
            #on_event_doc
            pub fn on_event<E, F, Fut>(&self, handler: F) -> crate::Result<crate::Subscription>
            where
                E: crate::EventType + ::std::marker::Send + 'static,
                F: ::std::ops::Fn(#name, E) -> Fut + ::std::marker::Send + ::std::marker::Sync + 'static,
                Fut: ::std::future::Future<Output = crate::Result<()>> + ::std::marker::Send + 'static,
            {
                let id = crate::objects::EventObject::object_id(self);
                crate::objects::on_object_event::<#name, E, F, Fut>(&self.client, &id, crate::objects::Known::Seen, handler)
            }

            #next_doc
            pub fn next<E: crate::EventType + ::std::marker::Send + 'static>(&self) -> crate::objects::Wait<E> {
                let id = crate::objects::EventObject::object_id(self);
                crate::objects::next::<#name, E>(&self.client, &id, crate::objects::Known::Seen)
            }

            #events_doc
            pub fn events<E: crate::EventType>(&self) -> crate::objects::Events<E> {
                let id = crate::objects::EventObject::object_id(self);
                crate::objects::events::<#name, E>(&self.client, &id, crate::objects::Known::Seen)
            }
        }

        impl crate::Client {
            #kind_doc
            pub fn #kind_handler<E, F, Fut>(&self, handler: F) -> crate::Subscription
            where
                E: crate::EventType + ::std::marker::Send + 'static,
                F: ::std::ops::Fn(#name, E) -> Fut + ::std::marker::Send + ::std::marker::Sync + 'static,
                Fut: ::std::future::Future<Output = crate::Result<()>> + ::std::marker::Send + 'static,
            {
                crate::objects::on_kind_event::<#name, E, F, Fut>(self, handler)
            }
        }
    }
}

fn pending(api: &Api, o: &DomainObject) -> TokenStream {
    let object = ident(&o.name);
    let pending = format_ident!("Pending{}", o.name);
    let ctor = format_ident!("pending_{}", names::field_name(&o.name));
    let ctor_with = format_ident!("pending_{}_with_id", names::field_name(&o.name));
    let rules = o.events.as_ref().expect("an object with events");
    let creators: Vec<String> = rules
        .creators
        .iter()
        .map(|(op, param)| {
            let (r, operation) = api.operation(*op);
            format!(
                "[`{}::{}`](crate::api::{}::{}) with `{param}`",
                r.type_name, operation.method_name, r.type_name, operation.method_name
            )
        })
        .collect();
    let noun = names::noun(&o.name);
    let doc = docs::attrs(&format!(
        "An id for a {noun} that does not exist yet, chosen by the client, with handlers registered before the {noun} exists: create it afterwards with [`id`](Self::id), through {}.",
        creators.join(", ")
    ));
    let on_event_doc = format!(
        " Calls `handler` for every event of type `E` about the {noun} that will have this id; released when it ends, like the handlers of existing objects."
    );
    let ctor_doc = format!(
        " A fresh {noun} id to subscribe to before the object is created, so that its first events cannot be missed."
    );
    let ctor_with_doc = format!(
        " The {noun} that will have id `id` (one of your choosing, e.g. a recording's name), to subscribe to before it is created."
    );
    let next_doc = format!(
        " The next event of type `E` about the {noun} that will have this id (see [`Wait`]); registered at once, so create the {noun} afterwards."
    );
    let events_doc =
        format!(" The events of type `E` about the {noun} that will have this id, until it ends.");
    quote! {
        #doc
        #[derive(Clone)]
        pub struct #pending {
            id: ::std::string::String,
            client: crate::Client,
        }

        impl #pending {
            /// The id to create the object with.
            pub fn id(&self) -> &str {
                &self.id
            }

            #[doc = #on_event_doc]
            pub fn on_event<E, F, Fut>(&self, handler: F) -> crate::Result<crate::Subscription>
            where
                E: crate::EventType + ::std::marker::Send + 'static,
                F: ::std::ops::Fn(#object, E) -> Fut + ::std::marker::Send + ::std::marker::Sync + 'static,
                Fut: ::std::future::Future<Output = crate::Result<()>> + ::std::marker::Send + 'static,
            {
                crate::objects::on_object_event::<#object, E, F, Fut>(&self.client, &self.id, crate::objects::Known::Pending, handler)
            }

            #[doc = #next_doc]
            pub fn next<E: crate::EventType + ::std::marker::Send + 'static>(&self) -> crate::objects::Wait<E> {
                crate::objects::next::<#object, E>(&self.client, &self.id, crate::objects::Known::Pending)
            }

            #[doc = #events_doc]
            pub fn events<E: crate::EventType>(&self) -> crate::objects::Events<E> {
                crate::objects::events::<#object, E>(&self.client, &self.id, crate::objects::Known::Pending)
            }
        }

        impl ::std::fmt::Debug for #pending {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(::std::stringify!(#pending)).field("id", &self.id).finish()
            }
        }

        impl crate::Client {
            #[doc = #ctor_doc]
            pub fn #ctor(&self) -> #pending {
                #pending {
                    id: self.new_id(),
                    client: self.clone(),
                }
            }

            #[doc = #ctor_with_doc]
            pub fn #ctor_with(&self, id: impl ::std::convert::Into<::std::string::String>) -> #pending {
                #pending {
                    id: id.into(),
                    client: self.clone(),
                }
            }
        }
    }
}
