//! `api/mod.rs` (the module list and the client's accessors) and `api/<resource>.rs`: one
//! repository per resource with one builder per operation, and the methods of the
//! resource's domain objects.

use proc_macro2::TokenStream;
use quote::quote;

use super::responses::response;
use super::types::{rust_type, type_doc};
use super::{ident, operations};
use crate::docs::{self, escape, sentence};
use crate::ir::{
    Api, BodyShape, DomainObject, Operation, OperationRef, Param, ParamKind, Resource, Response,
    Segment, Type,
};
use crate::names;

/// `api/mod.rs`: one module per resource (its file included from the build's output
/// folder), the repositories re-exported, and `Client::<resource>()`.
pub(super) fn index(api: &Api) -> TokenStream {
    let mut modules = TokenStream::new();
    let mut reexports = Vec::new();
    let mut accessors = Vec::new();
    for r in &api.resources {
        let module = ident(&r.module);
        let repo = ident(&r.type_name);
        let file = format!("/api/{}.rs", r.module);
        let mut doc = format!(
            "The `{}` resource: {}\n\n[`{}`] has one method per operation; each returns a builder of this module.",
            r.api_name,
            sentence(r.description.as_deref(), "operations of this resource"),
            r.type_name
        );
        let excluded: Vec<String> = r
            .operations
            .iter()
            .filter(|o| o.excluded)
            .map(|o| format!("`{} {}` ({})", o.http_method.as_str(), o.path, o.api_name))
            .collect();
        if !excluded.is_empty() {
            doc.push_str(&format!(
                "\n\nNot a method here: {}, which the client's event connection opens.",
                excluded.join(", ")
            ));
        }
        let docs = docs::attrs(&doc);
        modules.extend(quote! {
            #docs
            pub mod #module {
                include!(concat!(env!("OUT_DIR"), #file));
            }
        });
        reexports.push(quote!(pub use self::#module::#repo;));
        let method = ident(&names::accessor_name(&r.api_name));
        let doc = docs::attrs(&format!(
            "The operations of the `{}` resource: {}",
            r.api_name,
            sentence(r.description.as_deref(), "")
        ));
        accessors.push(quote! {
            #doc
            pub fn #method(&self) -> crate::api::#repo {
                crate::api::#repo::new(self.clone())
            }
        });
    }
    let table = operations::table(api);
    quote! {
        #(#reexports)*
        #modules
        #table
        impl crate::Client {
            #(#accessors)*
        }
    }
}

/// `api/<resource>.rs` of resource `index`.
pub(super) fn file(api: &Api, index: usize) -> TokenStream {
    let r = &api.resources[index];
    let repo = ident(&r.type_name);
    let mut methods = TokenStream::new();
    let mut builders = TokenStream::new();
    for (i, o) in r.operations.iter().enumerate().filter(|(_, o)| !o.excluded) {
        let op = OperationRef {
            resource: index,
            operation: i,
        };
        methods.extend(method(r, o));
        builders.extend(builder(api, op));
    }
    let repo_doc = docs::attrs(&format!(
        "The operations of the `{}` resource. Made by [`Client::{}`](crate::Client::{}).",
        r.api_name,
        names::accessor_name(&r.api_name),
        names::accessor_name(&r.api_name),
    ));
    let objects = api
        .objects
        .iter()
        .filter(|o| o.resource == index)
        .map(|o| object_methods(api, o));
    quote! {
        #repo_doc
        #[derive(Debug, Clone)]
        pub struct #repo {
            client: crate::Client,
        }

        impl #repo {
            pub(crate) fn new(client: crate::Client) -> Self {
                Self { client }
            }

            #methods
        }

        #builders
        #(#objects)*
    }
}

/// How a parameter is taken in a method or setter: `(argument type, conversion into the field)`.
fn arg(p: &Param) -> (TokenStream, TokenStream) {
    let name = ident(&p.name);
    if p.multi {
        return match &p.ty {
            Type::String => (
                quote!(impl crate::api::IntoStrings),
                quote!(crate::api::IntoStrings::into_strings(#name)),
            ),
            other => {
                let t = rust_type(other);
                (
                    quote!(impl ::std::iter::IntoIterator<Item = #t>),
                    quote!(#name.into_iter().collect::<::std::vec::Vec<#t>>()),
                )
            }
        };
    }
    match &p.ty {
        Type::String => (
            quote!(impl ::std::convert::Into<::std::string::String>),
            quote!(#name.into()),
        ),
        Type::Variables => (
            quote!(
                impl ::std::iter::IntoIterator<
                    Item = (
                        impl ::std::convert::Into<::std::string::String>,
                        impl ::std::convert::Into<::serde_json::Value>
                    ),
                >
            ),
            quote!(#name.into_iter().map(|(k, v)| (k.into(), v.into())).collect::<::serde_json::Map<::std::string::String, ::serde_json::Value>>()),
        ),
        Type::List(inner) => {
            let t = rust_type(inner);
            (
                quote!(impl ::std::iter::IntoIterator<Item = #t>),
                quote!(#name.into_iter().collect::<::std::vec::Vec<#t>>()),
            )
        }
        Type::Object => (
            quote!(impl ::std::convert::Into<::serde_json::Value>),
            quote!(#name.into()),
        ),
        other => (rust_type(other), quote!(#name)),
    }
}

/// The type of the builder field that stores a parameter (without the Option).
fn stored(p: &Param) -> TokenStream {
    let t = rust_type(&p.ty);
    if p.multi {
        quote!(::std::vec::Vec<#t>)
    } else {
        t
    }
}

fn param_doc(p: &Param) -> String {
    let mut notes = Vec::new();
    let kind = match p.kind {
        ParamKind::Path => "path",
        ParamKind::Query => "query",
        ParamKind::Body => "body",
    };
    notes.push(format!("{kind} parameter `{}`", p.api_name));
    if p.multi {
        notes.push("sent as one comma-separated value".into());
    }
    if let Some(r) = &p.range {
        notes.push(format!("allowed range: {r}"));
    }
    if let Some(d) = &p.default {
        notes.push(format!("server default: `{d}`"));
    }
    match p.body {
        Some(BodyShape::Wrapped(key)) => {
            notes.push(format!("sent as the JSON body `{{\"{key}\": …}}`"))
        }
        Some(BodyShape::Whole) => notes.push("sent as the whole JSON body".into()),
        None => {}
    }
    let t = type_doc(&p.ty);
    if !t.is_empty() {
        notes.push(format!("values: {t}"));
    }
    let notes = format!("({})", notes.join("; "));
    match p.description.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => format!("{}\n\n{notes}", sentence(Some(d), "")),
        None => notes,
    }
}

/// An operation's documentation. `bound` names the path parameters an object method fills
/// from its object (`(template, field)`), which are then not listed as parameters.
fn operation_doc(
    r: &Resource,
    o: &Operation,
    bound: Option<(&str, &[(String, String)])>,
) -> String {
    let mut doc = match o.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => sentence(Some(s), ""),
        None => format!("The `{}.{}` operation.", r.api_name, o.api_name),
    };
    if let Some(notes) = o.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        doc.push_str("\n\n");
        doc.push_str(&escape(notes));
    }
    doc.push_str("\n\n");
    if let Some((object, ids)) = bound {
        let noun = names::noun(object);
        let ids: Vec<String> = ids
            .iter()
            .map(|(t, f)| format!("`{t}` is this {noun}'s `{f}`"))
            .collect();
        doc.push_str(&format!("For this {noun}: {}. ", ids.join(", ")));
    }
    doc.push_str(&format!(
        "Sends `{} {}` (`{}.{}`).",
        o.http_method.as_str(),
        o.path,
        r.api_name,
        o.api_name
    ));
    let result = match &o.response {
        Response::Void => "nothing".to_owned(),
        Response::Binary => "the raw bytes of the response".to_owned(),
        Response::Json(t) => type_doc(t),
    };
    if o.params.iter().any(|p| !p.required) {
        doc.push_str(&format!(" Optional parameters are setters of the returned builder; `.await` it to send the request, which returns {result}."));
    } else {
        doc.push_str(&format!(
            " `.await` the returned builder to send the request, which returns {result}."
        ));
    }
    if !o.since.is_empty() {
        doc.push_str(&format!(
            " Available since Asterisk {}.",
            o.since.join(", ")
        ));
    }
    let is_bound = |p: &Param| {
        p.kind == ParamKind::Path
            && bound.is_some_and(|(_, ids)| ids.iter().any(|(t, _)| *t == p.api_name))
    };
    let listed: Vec<&Param> = o
        .params
        .iter()
        .filter(|p| p.required && !is_bound(p))
        .collect();
    if !listed.is_empty() {
        doc.push_str("\n\n# Parameters\n");
        for p in listed {
            let pd = param_doc(p).replace("\n\n", " ");
            doc.push_str(&format!("\n- `{}`: {}", p.name, pd));
        }
    }
    if !o.errors.is_empty() {
        doc.push_str("\n\n# Errors\n");
        for (code, reason) in &o.errors {
            doc.push_str(&format!("\n- `{code}`: {}", sentence(Some(reason), "")));
        }
    }
    doc
}

/// The repository method: required parameters as arguments, returns the builder.
fn method(r: &Resource, o: &Operation) -> TokenStream {
    let method = ident(&o.method_name);
    let builder = ident(&o.builder_name);
    let required: Vec<&Param> = o.params.iter().filter(|p| p.required).collect();
    let args = required.iter().map(|p| {
        let name = ident(&p.name);
        let (t, _) = arg(p);
        quote!(#name: #t)
    });
    let inits = required.iter().map(|p| {
        let name = ident(&p.name);
        let (_, conv) = arg(p);
        if name == conv.to_string() {
            quote!(#name,)
        } else {
            quote!(#name: #conv,)
        }
    });
    let nones = o.params.iter().filter(|p| !p.required).map(|p| {
        let name = ident(&p.name);
        quote!(#name: ::std::option::Option::None,)
    });
    let docs = docs::attrs(&operation_doc(r, o, None));
    quote! {
        #docs
        pub fn #method(&self, #(#args),*) -> #builder {
            #builder {
                client: self.client.clone(),
                #(#inits)*
                #(#nones)*
            }
        }
    }
}

/// The builder of one operation: a setter per optional parameter, `send`, `IntoFuture`.
fn builder(api: &Api, op: OperationRef) -> TokenStream {
    let (r, o) = api.operation(op);
    let builder = ident(&o.builder_name);
    let fields = o.params.iter().map(|p| {
        let name = ident(&p.name);
        let t = stored(p);
        if p.required {
            quote!(#name: #t,)
        } else {
            quote!(#name: ::std::option::Option<#t>,)
        }
    });
    let setters = o.params.iter().filter(|p| !p.required).map(|p| {
        let name = ident(&p.name);
        let (t, conv) = arg(p);
        let d = docs::attrs(&param_doc(p));
        quote! {
            #d
            pub fn #name(mut self, #name: #t) -> Self {
                self.#name = ::std::option::Option::Some(#conv);
                self
            }
        }
    });
    let op_name = format!("{}.{}", r.api_name, o.api_name);
    let id = ident(&o.builder_name);
    let mut fmt = String::new();
    let mut fmt_args = Vec::new();
    for s in &o.segments {
        fmt.push('/');
        match s {
            Segment::Literal(l) => fmt.push_str(&l.replace('{', "{{").replace('}', "}}")),
            Segment::Param(api_name) => {
                fmt.push_str("{}");
                let p = o
                    .params
                    .iter()
                    .find(|p| p.kind == ParamKind::Path && p.api_name == *api_name)
                    .expect("validated: every template has a path parameter");
                let name = ident(&p.name);
                fmt_args.push(quote!(crate::rest::segment(op, #api_name, &self.#name)?));
            }
        }
    }
    let path_expr = if fmt_args.is_empty() {
        quote!(::std::string::String::from(#fmt))
    } else {
        quote!(::std::format!(#fmt, #(#fmt_args),*))
    };
    let mut body_stmts = TokenStream::new();
    for p in &o.params {
        let name = ident(&p.name);
        let api = &p.api_name;
        let stmt = match p.kind {
            ParamKind::Path => continue,
            ParamKind::Query if p.multi => quote!(req.query_list(#api, v.as_slice())?;),
            ParamKind::Query => quote!(req.query(#api, v)?;),
            ParamKind::Body => match p.body {
                Some(BodyShape::Wrapped(key)) => {
                    quote!(req.json_body(#api, &crate::api::Wrapped(#key, v))?;)
                }
                _ => quote!(req.json_body(#api, v)?;),
            },
        };
        body_stmts.extend(if p.required {
            quote! { { let v = &self.#name; #stmt } }
        } else {
            quote! { if let ::std::option::Option::Some(v) = &self.#name { #stmt } }
        });
    }
    let (output, call) = response(api, op);
    let builder_doc = docs::attrs(&format!(
        "A `{} {}` request (`{op_name}`), built by [`{}::{}`]: set optional parameters, then `.await` it or call [`send`](Self::send).",
        o.http_method.as_str(),
        o.path,
        r.type_name,
        o.method_name
    ));
    quote! {
        #builder_doc
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until it is sent with `.await` or `.send()`"]
        pub struct #builder {
            client: crate::Client,
            #(#fields)*
        }

        impl #builder {
            #(#setters)*

            /// The request, with every parameter checked and encoded.
            fn request(&self) -> crate::Result<crate::rest::Request> {
                let op = crate::api::OperationId::#id.operation();
                #[allow(unused_mut)]
                let mut req = crate::rest::Request::new(op, #path_expr);
                #body_stmts
                ::std::result::Result::Ok(req)
            }

            /// Sends the request.
            pub async fn send(self) -> crate::Result<#output> {
                #call
            }
        }

        impl ::std::future::IntoFuture for #builder {
            type Output = crate::Result<#output>;
            type IntoFuture = crate::api::ResponseFuture<#output>;
            fn into_future(self) -> Self::IntoFuture {
                crate::api::ResponseFuture::new(self.send())
            }
        }
    }
}

/// The methods of one domain object: its resource's operations on its path, with the id
/// parameters filled from the object's data.
fn object_methods(api: &Api, object: &DomainObject) -> TokenStream {
    let mut methods = TokenStream::new();
    for m in &object.methods {
        let (r, o) = api.operation(*m);
        let method = ident(&o.method_name);
        let builder = ident(&o.builder_name);
        let repo = ident(&r.type_name);
        let mut call_args = Vec::new();
        let mut sig = Vec::new();
        for p in o.params.iter().filter(|p| p.required) {
            let name = ident(&p.name);
            let bound = object
                .id
                .iter()
                .find(|(t, _)| p.kind == ParamKind::Path && *t == p.api_name);
            if let Some((_, field)) = bound {
                let field = ident(field);
                call_args.push(quote!(self.data().#field.clone()));
            } else {
                let (t, _) = arg(p);
                sig.push(quote!(#name: #t));
                call_args.push(quote!(#name));
            }
        }
        let docs = docs::attrs(&operation_doc(r, o, Some((&object.name, &object.id))));
        methods.extend(quote! {
            #docs
            pub fn #method(&self, #(#sig),*) -> #builder {
                #repo::new(self.client().clone()).#method(#(#call_args),*)
            }
        });
    }
    let name = ident(&object.name);
    quote! {
        impl crate::objects::#name {
            #methods
        }
    }
}
