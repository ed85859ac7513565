//! Models, the event tree (`Message` → `Event` → event types) and string enums.

use std::collections::{BTreeMap, BTreeSet};

use super::{err, key, Api, Builder, EnumDef, Field, Model, Type};
use crate::fixups::{special_cases, U32_TYPE};
use crate::names;
use crate::spec::{self, Spec};
use crate::Error;

impl Builder {
    pub(super) fn build(mut self, spec: &Spec) -> Result<Api, Error> {
        // 1. every model id, across all files (the namespace is global)
        let mut rust_names: BTreeMap<String, String> = BTreeMap::new();
        for f in &spec.files {
            for (id, m) in &f.decl.models.0 {
                let ptr = format!("/models/{}", key(id));
                if m.id != *id {
                    return Err(err(
                        &f.file,
                        format!("{ptr}/id"),
                        format!("id {:?} differs from its key", m.id),
                    ));
                }
                if let Some((other, _)) = self.model_ids.get(id) {
                    return Err(err(
                        &f.file,
                        ptr,
                        format!("model `{id}` is also defined in {other}"),
                    ));
                }
                let name = names::type_name(id);
                if !names::is_identifier(&name) || names::is_keyword(&name) {
                    return Err(err(
                        &f.file,
                        ptr,
                        format!("model `{id}` gives no usable type name"),
                    ));
                }
                if let Some(other) = rust_names.insert(name.clone(), id.clone()) {
                    return Err(err(
                        &f.file,
                        ptr,
                        format!("models `{other}` and `{id}` both become `{name}`"),
                    ));
                }
                self.model_ids.insert(id.clone(), (f.file.clone(), name));
            }
        }
        let find = |id: &str| {
            spec.files
                .iter()
                .find_map(|f| f.decl.models.get(id).map(|m| (f.file.as_str(), m)))
        };

        // 2. the event tree: Message (discriminator) → Event → event types
        let (message_file, message) = find("Message")
            .ok_or_else(|| err("events.json", "/models", "model `Message` is missing"))?;
        let discriminator = message
            .discriminator
            .clone()
            .unwrap_or_else(|| "type".into());
        let (event_file, event) = find("Event")
            .ok_or_else(|| err("events.json", "/models", "model `Event` is missing"))?;
        if !message.sub_types.iter().any(|s| s == "Event") {
            return Err(err(
                message_file,
                "/models/Message/subTypes",
                "`Event` is not a sub-type of `Message`",
            ));
        }
        let mut base_fields = Vec::new();
        for (pname, p) in &message.properties.0 {
            if *pname != discriminator {
                base_fields.push(self.field(message_file, "Message", pname, p)?);
            }
        }
        let message_fields = base_fields.clone();
        for (pname, p) in &event.properties.0 {
            base_fields.push(self.field(event_file, "Event", pname, p)?);
        }
        let mut event_ids = BTreeSet::new();
        let mut events = Vec::new();
        for (i, sub) in event.sub_types.iter().enumerate() {
            let (file, m) = find(sub).ok_or_else(|| {
                err(
                    event_file,
                    format!("/models/Event/subTypes/{i}"),
                    format!("unknown model `{sub}`"),
                )
            })?;
            if !event_ids.insert(sub.clone()) {
                return Err(err(
                    event_file,
                    format!("/models/Event/subTypes/{i}"),
                    format!("`{sub}` is listed twice"),
                ));
            }
            if !m.sub_types.is_empty() {
                return Err(err(
                    file,
                    format!("/models/{}/subTypes", key(sub)),
                    "nested event sub-types are not supported",
                ));
            }
            let mut model = self.model(file, m)?;
            let mut fields = base_fields.clone();
            fields.append(&mut model.fields);
            model.fields = fields;
            check_unique_fields(&model)?;
            events.push(model);
        }
        events.sort_by(|a, b| a.api_name.cmp(&b.api_name));

        // 3. the other models
        let mut models = Vec::new();
        for f in &spec.files {
            for (id, m) in &f.decl.models.0 {
                if special_cases::ABSTRACT_MODELS.contains(&id.as_str()) || event_ids.contains(id) {
                    continue;
                }
                let mut model = self.model(&f.file, m)?;
                if message.sub_types.contains(id) {
                    // a Message sub-type other than Event (MissingParams)
                    let mut fields = message_fields.clone();
                    fields.append(&mut model.fields);
                    model.fields = fields;
                }
                check_unique_fields(&model)?;
                models.push(model);
            }
        }
        models.sort_by(|a, b| a.name.cmp(&b.name));

        // 4. resources and operations
        let mut resources = Vec::new();
        for f in &spec.files {
            resources.push(self.resource(f)?);
        }
        resources.sort_by(|a, b| a.module.cmp(&b.module));
        let mut modules = BTreeSet::new();
        for r in &resources {
            if !modules.insert(&r.module) {
                return Err(err(
                    "resources.json",
                    "/apis",
                    format!("two resources become module `{}`", r.module),
                ));
            }
        }

        // 5. enum names must not collide with models
        for name in self.enums.keys() {
            if rust_names.contains_key(name) {
                return Err(err(
                    "",
                    "",
                    format!("enum `{name}` collides with a model of the same name"),
                ));
            }
        }

        let mut all_model_ids: Vec<String> = self.model_ids.keys().cloned().collect();
        all_model_ids.sort();
        Ok(Api {
            version: spec.listing.api_version.clone(),
            resources,
            models,
            enums: self.enums.into_values().collect(),
            events,
            all_model_ids,
            objects: Vec::new(),
        })
    }

    fn model(&mut self, file: &str, m: &spec::Model) -> Result<Model, Error> {
        let mut fields = Vec::new();
        for (pname, p) in &m.properties.0 {
            fields.push(self.field(file, &m.id, pname, p)?);
        }
        Ok(Model {
            api_name: m.id.clone(),
            name: self.model_ids[&m.id].1.clone(),
            description: m.description.clone(),
            fields,
            file: file.to_owned(),
        })
    }

    fn field(
        &mut self,
        file: &str,
        model: &str,
        pname: &str,
        p: &spec::Property,
    ) -> Result<Field, Error> {
        let ptr = format!("/models/{}/properties/{}", key(model), key(pname));
        let name = names::field_name(pname);
        if !names::is_identifier(&name) {
            return Err(err(
                file,
                ptr,
                format!("property `{pname}` gives no usable field name"),
            ));
        }
        let mut ty = self.resolve(&p.ty).ok_or_else(|| {
            err(
                file,
                format!("{ptr}/type"),
                format!("unknown type `{}`", p.ty),
            )
        })?;
        if let Some(av) = &p.allowable_values {
            if av.value_type.eq_ignore_ascii_case("LIST") {
                if ty != Type::String {
                    return Err(err(
                        file,
                        format!("{ptr}/allowableValues"),
                        "a LIST of values needs type `string`",
                    ));
                }
                let name = names::property_enum_name(model, pname);
                ty = Type::Enum(self.add_enum(
                    file,
                    &format!("{ptr}/allowableValues"),
                    name,
                    &av.values,
                    format!("{model}.{pname}"),
                )?);
            }
        }
        Ok(Field {
            name,
            api_name: pname.to_owned(),
            ty,
            required: p.required.unwrap_or(false),
            description: p.description.clone(),
        })
    }

    pub(super) fn add_enum(
        &mut self,
        file: &str,
        ptr: &str,
        name: String,
        values: &[String],
        user: String,
    ) -> Result<String, Error> {
        if values.is_empty() {
            return Err(err(file, ptr, "empty LIST of values"));
        }
        let mut variants: Vec<(String, String)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let variant = names::variant_name(v).ok_or_else(|| {
                err(
                    file,
                    format!("{ptr}/values/{i}"),
                    format!("value {v:?} gives no usable variant name"),
                )
            })?;
            if variant == "Unrecognized" {
                return Err(err(
                    file,
                    format!("{ptr}/values/{i}"),
                    "value collides with the `Unrecognized` fallback variant",
                ));
            }
            if let Some((other, _)) = variants.iter().find(|(_, n)| *n == variant) {
                return Err(err(
                    file,
                    format!("{ptr}/values/{i}"),
                    format!("values {other:?} and {v:?} both become variant `{variant}`"),
                ));
            }
            variants.push((v.clone(), variant));
        }
        match self.enums.get_mut(&name) {
            Some(e) if e.values == variants => {
                e.used_by.push(user);
                e.used_by.sort();
            }
            Some(e) => {
                return Err(err(
                    file,
                    ptr,
                    format!(
                        "enum `{name}` is also used by {} with other values",
                        e.used_by.join(", ")
                    ),
                ));
            }
            None => {
                self.enums.insert(
                    name.clone(),
                    EnumDef {
                        name: name.clone(),
                        values: variants,
                        used_by: vec![user],
                    },
                );
            }
        }
        Ok(name)
    }

    pub(super) fn resolve(&self, ty: &str) -> Option<Type> {
        Some(match ty {
            "string" => Type::String,
            "int" => Type::I32,
            "long" => Type::I64,
            "double" => Type::F64,
            "boolean" => Type::Bool,
            "Date" => Type::Date,
            "object" => Type::Object,
            t if t == U32_TYPE => Type::U32,
            t => {
                if let Some(inner) = t.strip_prefix("List[").and_then(|r| r.strip_suffix(']')) {
                    Type::List(Box::new(self.resolve(inner)?))
                } else {
                    Type::Model(self.model_ids.get(t)?.1.clone())
                }
            }
        })
    }
}

fn check_unique_fields(m: &Model) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for f in &m.fields {
        if !seen.insert(f.name.as_str()) {
            return Err(err(
                &m.file,
                format!("/models/{}", key(&m.api_name)),
                format!("two properties become field `{}`", f.name),
            ));
        }
    }
    Ok(())
}
