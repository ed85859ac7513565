//! `models.rs`: one struct per model, one enum per list of allowable values.

use proc_macro2::TokenStream;
use quote::quote;

use super::ident;
use super::types::model_struct;
use crate::docs;
use crate::ir::{Api, EnumDef};

pub(super) fn file(api: &Api) -> TokenStream {
    let mut out = TokenStream::new();
    for m in &api.models {
        out.extend(model_struct(
            api,
            m,
            &format!("The `{}` model ({}).", m.api_name, m.file),
            false,
        ));
    }
    for e in &api.enums {
        out.extend(string_enum(e));
    }
    out
}

fn string_enum(e: &EnumDef) -> TokenStream {
    let name = ident(&e.name);
    let doc = format!(
        "A value of {}.\n\nValues the spec does not list decode as [`{}::Unrecognized`], which keeps the raw string.",
        e.used_by.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
        e.name
    );
    let docs = docs::attrs(&doc);
    let variants = e.values.iter().map(|(v, var)| {
        let var = ident(var);
        let d = format!(" `{v}`");
        quote!(#[doc = #d] #var,)
    });
    let as_str = e.values.iter().map(|(v, var)| {
        let var = ident(var);
        quote!(Self::#var => #v,)
    });
    let from = e.values.iter().map(|(v, var)| {
        let var = ident(var);
        quote!(#v => Self::#var,)
    });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A value this version of the spec does not list; [`as_str`](Self::as_str) gives it.
            Unrecognized(crate::models::UnknownValue),
        }
        impl #name {
            /// The value as Asterisk writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#as_str)*
                    Self::Unrecognized(v) => v.as_str(),
                }
            }
        }
        impl ::std::convert::From<&str> for #name {
            fn from(s: &str) -> Self {
                match s {
                    #(#from)*
                    _ => Self::Unrecognized(crate::models::UnknownValue::new(s)),
                }
            }
        }
        impl ::std::str::FromStr for #name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                ::std::result::Result::Ok(Self::from(s))
            }
        }
        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                crate::models::de::string_enum(d)
            }
        }
    }
}
