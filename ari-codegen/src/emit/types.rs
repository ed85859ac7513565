//! How types, fields and model structs are rendered, for models and events alike.

use proc_macro2::TokenStream;
use quote::quote;

use super::ident;
use crate::docs::{self, sentence};
use crate::ir::{Api, Field, Model, Type};

/// The Rust type of a resolved type.
pub(super) fn rust_type(ty: &Type) -> TokenStream {
    match ty {
        Type::String => quote!(::std::string::String),
        Type::I32 => quote!(i32),
        Type::I64 => quote!(i64),
        Type::U32 => quote!(u32),
        Type::F64 => quote!(f64),
        Type::Bool => quote!(bool),
        Type::Date => quote!(crate::Timestamp),
        Type::Object => quote!(::serde_json::Value),
        Type::Variables => quote!(::serde_json::Map<::std::string::String, ::serde_json::Value>),
        Type::List(inner) => {
            let inner = rust_type(inner);
            quote!(::std::vec::Vec<#inner>)
        }
        Type::Model(name) | Type::Enum(name) => {
            let name = ident(name);
            quote!(crate::models::#name)
        }
    }
}

/// A link to the type's documentation, or nothing for plain types.
pub(super) fn type_doc(ty: &Type) -> String {
    match ty {
        Type::Model(n) | Type::Enum(n) => format!("[`{n}`](crate::models::{n})"),
        Type::List(inner) => format!("list of {}", type_doc(inner)),
        _ => String::new(),
    }
}

/// Whether events carry this model behind an `Arc`: the snapshots of the domain objects
/// events name, which the runtime hands to handlers and objects without copying them.
pub(super) fn shared_in_events(api: &Api, model: &str) -> bool {
    api.object_of_model(model).is_some_and(|o| o.has_events())
}

/// Whether an event's field names a domain object: a field of the objects table that holds
/// that object's model. Its snapshot can be shared with the object's previous event
/// (`ari_client::events::reuse`).
pub(super) fn names_object(api: &Api, f: &Field) -> bool {
    api.objects.iter().any(|o| {
        o.events
            .as_ref()
            .is_some_and(|e| e.fields.contains(&f.api_name))
            && f.ty == Type::Model(o.model.clone())
    })
}

/// The Rust type of a field; in an event struct, the objects' snapshots are shared.
fn field_type(api: &Api, f: &Field, in_event: bool) -> TokenStream {
    match &f.ty {
        Type::Model(name) if in_event && shared_in_events(api, name) => {
            let inner = rust_type(&f.ty);
            quote!(::std::sync::Arc<#inner>)
        }
        ty => rust_type(ty),
    }
}

/// A field's documentation: its own description, else the description of the model it
/// holds, else nothing.
fn field_doc(api: &Api, f: &Field) -> Option<String> {
    let own = f.description.as_deref().filter(|d| !d.trim().is_empty());
    let text = own.map(str::to_owned).or_else(|| {
        let model = match &f.ty {
            Type::Model(name) => name,
            Type::List(inner) => match &**inner {
                Type::Model(name) => name,
                _ => return None,
            },
            _ => return None,
        };
        api.model(model)?.description.clone()
    })?;
    Some(sentence(Some(&text), ""))
}

/// How a required field decodes when it is missing or null.
enum Lenient {
    /// Missing or null: empty (a string, list or map).
    NullAsDefault,
    /// Missing: empty (any JSON object).
    Default,
    /// Must be there.
    Strict,
}

fn lenient(ty: &Type) -> Lenient {
    match ty {
        Type::String | Type::List(_) | Type::Variables => Lenient::NullAsDefault,
        Type::Object => Lenient::Default,
        _ => Lenient::Strict,
    }
}

/// The statement that sets the field `f` of a model (`self`) from the deserializer `d`
/// of its member's value, as the model's derived `Deserialize` decodes a member that is
/// there (the attributes of [`field_tokens`]).
pub(super) fn member_setter(f: &Field) -> TokenStream {
    let name = ident(&f.name);
    match lenient(&f.ty) {
        Lenient::NullAsDefault if f.required => {
            quote!(self.#name = crate::models::de::null_as_default(d)?)
        }
        _ => quote!(self.#name = ::serde::Deserialize::deserialize(d)?),
    }
}

fn field_tokens(api: &Api, f: &Field, in_event: bool) -> TokenStream {
    let name = ident(&f.name);
    let ty = field_type(api, f, in_event);
    let docs = match field_doc(api, f) {
        Some(mut doc) => {
            if f.api_name != f.name {
                doc.push_str(&format!("\n\nSent as `{}`.", f.api_name));
            }
            docs::attrs(&doc)
        }
        // the spec says nothing about this field, and neither do we
        None => quote!(#[allow(missing_docs)]),
    };
    let rename = (f.api_name != f.name).then(|| {
        let api = &f.api_name;
        quote!(#[serde(rename = #api)])
    });
    // decoded through the snapshot reuse of the event path (the same value either way)
    let reuse = (in_event && names_object(api, f)).then(|| {
        let with = format!("crate::events::reuse_fields::{}", ident(&f.api_name));
        quote!(#[serde(deserialize_with = #with)])
    });
    if f.required {
        let lenient = match lenient(&f.ty) {
            Lenient::NullAsDefault => {
                quote!(#[serde(default, deserialize_with = "crate::models::de::null_as_default")])
            }
            Lenient::Default => quote!(#[serde(default)]),
            Lenient::Strict => TokenStream::new(),
        };
        quote! {
            #docs
            #rename
            #lenient
            #reuse
            pub #name: #ty,
        }
    } else {
        quote! {
            #docs
            #rename
            #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
            #reuse
            pub #name: ::std::option::Option<#ty>,
        }
    }
}

/// The struct of a model or event: its description, where it comes from, its fields.
pub(super) fn model_struct(api: &Api, m: &Model, origin: &str, in_event: bool) -> TokenStream {
    let name = ident(&m.name);
    let mut doc = match m.description.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => format!("{}\n\n", sentence(Some(d), "")),
        None => String::new(),
    };
    doc.push_str(origin);
    let docs = docs::attrs(&doc);
    let fields = m.fields.iter().map(|f| field_tokens(api, f, in_event));
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        pub struct #name {
            #(#fields)*
        }
    }
}
