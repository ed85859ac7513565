//! What an operation gives back and tells the runtime: its output type (a domain
//! object's model becomes the object), the expression that sends the request, and the
//! lifecycle hooks of operations that create or destroy domain objects.

use proc_macro2::TokenStream;
use quote::quote;

use super::ident;
use super::types::rust_type;
use crate::ir::{Api, DomainObject, OperationRef, ParamKind, Response, Type};

/// The Rust type of a response: a model that is a domain object's becomes the object.
fn output_type(api: &Api, ty: &Type) -> TokenStream {
    match ty {
        Type::Model(name) => match api.object_of_model(name) {
            Some(o) => {
                let o = ident(&o.name);
                quote!(crate::objects::#o)
            }
            None => rust_type(ty),
        },
        Type::List(inner) => {
            let inner = output_type(api, inner);
            quote!(::std::vec::Vec<#inner>)
        }
        other => rust_type(other),
    }
}

/// `data` of JSON type `ty` as the output type (wrapping domain objects' models).
fn wrap(api: &Api, ty: &Type, data: TokenStream) -> TokenStream {
    match ty {
        Type::Model(name) => match api.object_of_model(name) {
            Some(o) => {
                let o = ident(&o.name);
                quote!(crate::objects::#o::from_shared(::std::sync::Arc::new(#data), self.client.clone()))
            }
            None => data,
        },
        Type::List(inner) if matches!(&**inner, Type::Model(m) if api.object_of_model(m).is_some()) =>
        {
            let one = wrap(api, inner, quote!(item));
            quote!(#data.into_iter().map(|item| #one).collect())
        }
        _ => data,
    }
}

/// Whether the operation creates a domain object (and must note where the event stream
/// was when it was sent).
fn creates(api: &Api, op: OperationRef) -> bool {
    api.objects
        .iter()
        .filter_map(|o| o.events.as_ref())
        .any(|e| e.creators.iter().any(|(c, _)| *c == op))
}

/// What the runtime is told after this operation, when it creates or destroys a domain
/// object (using `result`, and `since` for creators).
fn lifecycle(api: &Api, op: OperationRef) -> TokenStream {
    let (_, o) = api.operation(op);
    let mut out = TokenStream::new();
    // the Rust names of the operation's parameters that fill the object's id
    let id_params = |object: &DomainObject| -> Vec<_> {
        object
            .id
            .iter()
            .map(|(template, _)| {
                let p = o
                    .params
                    .iter()
                    .find(|p| p.kind == ParamKind::Path && p.api_name == *template)
                    .expect("validated");
                ident(&p.name)
            })
            .collect()
    };
    // a parameter the domain table names (by its Rust name)
    let param = |name: &str| o.params.iter().find(|p| p.name == name).expect("validated");
    for object in &api.objects {
        if let Some((_, param_name, subscribes)) =
            object.subscriptions.iter().find(|(s, ..)| *s == op)
        {
            let id = id_params(object);
            let p = param(param_name);
            let name = ident(&p.name);
            let sources = match (p.multi, p.required) {
                (true, true) => quote!(self.#name.as_slice()),
                (true, false) => quote!(self.#name.as_deref().unwrap_or_default()),
                (false, true) => quote!(::std::slice::from_ref(&self.#name)),
                (false, false) => quote!(self.#name.as_slice()),
            };
            out.extend(quote! {
                if result.is_ok() {
                    crate::objects::subscribed(&self.client, &[#(self.#id.as_str()),*].join("/"), #sources, #subscribes);
                }
            });
        }
        let Some(events) = &object.events else {
            continue;
        };
        let kind = ident(&object.name);
        if let Some((_, param_name)) = events.creators.iter().find(|(c, _)| *c == op) {
            let p = param(param_name);
            let name = ident(&p.name);
            let requested = if p.required {
                quote!(::std::option::Option::Some(self.#name.as_str()))
            } else {
                quote!(self.#name.as_deref())
            };
            // an object created into an application stays subscribed to it
            let subscribed = match o.params.iter().find(|p| p.api_name == "app") {
                Some(app) if app.required => quote!(true),
                Some(app) => {
                    let app = ident(&app.name);
                    quote!(self.#app.is_some())
                }
                None => quote!(false),
            };
            let id_field = ident(&object.id[0].1);
            out.extend(quote! {
                crate::objects::created(
                    &self.client,
                    crate::ObjectKind::#kind,
                    since,
                    #requested,
                    result.as_ref().map(|data| data.#id_field.as_str()),
                    #subscribed,
                );
            });
        }
        if events.destroyers.contains(&op) {
            let id = id_params(object);
            out.extend(quote! {
                if result.is_ok() {
                    crate::objects::destroyed(&self.client, crate::ObjectKind::#kind, &[#(self.#id.as_str()),*].join("/"));
                }
            });
        }
    }
    out
}

/// The output type of an operation and the expression that sends `req` for it.
pub(super) fn response(api: &Api, op: OperationRef) -> (TokenStream, TokenStream) {
    let (_, o) = api.operation(op);
    let hooks = lifecycle(api, op);
    let (output, send, value) = match &o.response {
        Response::Void => (
            quote!(()),
            quote!(self.client.rest().empty(req).await),
            quote!(data),
        ),
        Response::Binary => (
            quote!(::std::vec::Vec<u8>),
            quote!(self.client.rest().bytes(req).await),
            quote!(data),
        ),
        Response::Json(t) => {
            let json = rust_type(t);
            (
                output_type(api, t),
                quote!(self.client.rest().json::<#json>(req).await),
                wrap(api, t, quote!(data)),
            )
        }
    };
    // a creator's request that cannot be built fails like one Asterisk refused: what was
    // registered for the requested id is released
    let (since, send) = if creates(api, op) {
        (
            Some(quote!(let since = crate::objects::before_create(&self.client);)),
            quote! {
                match self.request() {
                    ::std::result::Result::Ok(req) => #send,
                    ::std::result::Result::Err(e) => ::std::result::Result::Err(e),
                }
            },
        )
    } else {
        (None, quote!({ let req = self.request()?; #send }))
    };
    let identity = value.to_string() == "data";
    let call = match (hooks.is_empty(), identity) {
        (true, true) => send,
        (true, false) => quote!(#send.map(|data| #value)),
        (false, true) => quote! {
            #since
            let result = #send;
            #hooks
            result
        },
        (false, false) => quote! {
            #since
            let result = #send;
            #hooks
            result.map(|data| #value)
        },
    };
    (output, call)
}
