//! Resources, their operations and the operations' parameters.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    err, BodyShape, Builder, HttpMethod, Operation, Param, ParamKind, Resource, Response, Segment,
    Type,
};
use crate::fixups::special_cases;
use crate::names;
use crate::spec::{self, ErrorCode};
use crate::Error;

/// Where an operation is, for error messages: its file and JSON pointer.
struct At<'a> {
    file: &'a spec::SpecFile,
    /// `/apis/3/operations/0`.
    loc: &'a str,
}

impl At<'_> {
    fn err(&self, suffix: impl std::fmt::Display, msg: impl Into<String>) -> Error {
        err(&self.file.file, format!("{}{suffix}", self.loc), msg)
    }

    /// The pointer of the operation's path (`/apis/3/path`).
    fn path_ptr(&self) -> String {
        let api = self
            .loc
            .rsplit_once("/operations")
            .map_or(self.loc, |x| x.0);
        format!("{api}/path")
    }
}

impl Builder {
    pub(super) fn resource(&mut self, f: &spec::SpecFile) -> Result<Resource, Error> {
        let file = f.file.as_str();
        let mut operations = Vec::new();
        let mut nicknames = BTreeMap::new();
        let mut paths = BTreeSet::new();
        for (ai, api) in f.decl.apis.iter().enumerate() {
            if !paths.insert(api.path.as_str()) {
                return Err(err(
                    file,
                    format!("/apis/{ai}/path"),
                    format!("path `{}` occurs twice", api.path),
                ));
            }
            let mut methods = BTreeSet::new();
            for (oi, op) in api.operations.iter().enumerate() {
                let loc = format!("/apis/{ai}/operations/{oi}");
                if let Some(prev) = nicknames.insert(op.nickname.clone(), loc.clone()) {
                    return Err(err(
                        file,
                        format!("{loc}/nickname"),
                        format!("nickname `{}` is also used at {prev}", op.nickname),
                    ));
                }
                let o = self.operation(At { file: f, loc: &loc }, &api.path, op)?;
                if !methods.insert(o.http_method.as_str()) {
                    return Err(err(
                        file,
                        format!("{loc}/httpMethod"),
                        "two operations with the same HTTP method on one path",
                    ));
                }
                operations.push(o);
            }
        }
        let mut method_names = BTreeMap::new();
        for o in &operations {
            if let Some(prev) = method_names.insert(o.method_name.clone(), o.api_name.clone()) {
                return Err(err(
                    file,
                    o.location.clone(),
                    format!(
                        "nicknames `{prev}` and `{}` both become `{}`",
                        o.api_name, o.method_name
                    ),
                ));
            }
        }
        Ok(Resource {
            api_name: f.resource.clone(),
            type_name: names::repository_name(&f.resource),
            module: names::module_name(&f.resource),
            description: f.description.clone(),
            operations,
        })
    }

    fn operation(
        &mut self,
        at: At<'_>,
        path: &str,
        op: &spec::Operation,
    ) -> Result<Operation, Error> {
        let resource = at.file.resource.as_str();
        let http_method = HttpMethod::parse(&op.http_method).ok_or_else(|| {
            at.err(
                "/httpMethod",
                format!("unsupported HTTP method `{}`", op.http_method),
            )
        })?;
        let method_name = names::method_name(&op.nickname);
        if !names::is_identifier(&method_name)
            || names::is_keyword(&method_name)
            || method_name == "new"
        {
            return Err(at.err(
                "/nickname",
                format!("nickname `{}` gives no usable method name", op.nickname),
            ));
        }
        let segments = segments(&at, path)?;
        let mut params: Vec<Param> = Vec::new();
        for (pi, p) in op.parameters.iter().enumerate() {
            let ptr = format!("/parameters/{pi}");
            if params.iter().any(|q| q.api_name == p.name) {
                return Err(at.err(ptr, format!("parameter `{}` is declared twice", p.name)));
            }
            let param = self.param(&at, &ptr, op, p, (path, &segments))?;
            if params.iter().any(|q| q.name == param.name) {
                return Err(at.err(
                    format!("{ptr}/name"),
                    format!("two parameters become `{}`", param.name),
                ));
            }
            if param.kind == ParamKind::Body && params.iter().any(|q| q.kind == ParamKind::Body) {
                return Err(at.err(ptr, "more than one body parameter"));
            }
            params.push(param);
        }
        // the runtime keeps the parameters a request sets as bits of a u64
        if params.len() > 64 {
            return Err(at.err(
                "/parameters",
                format!("{} parameters: the client handles at most 64", params.len()),
            ));
        }
        for s in &segments {
            if let Segment::Param(name) = s {
                if !params
                    .iter()
                    .any(|p| p.kind == ParamKind::Path && p.api_name == *name)
                {
                    return Err(at.err(
                        "",
                        format!("path template `{{{name}}}` has no path parameter"),
                    ));
                }
            }
        }
        let response = match op.response_class.as_str() {
            "void" => Response::Void,
            "binary" => Response::Binary,
            other => Response::Json(
                self.resolve(other)
                    .filter(|t| matches!(t, Type::Model(_) | Type::List(_)))
                    .ok_or_else(|| {
                        at.err(
                            "/responseClass",
                            format!("unknown response class `{other}`"),
                        )
                    })?,
            ),
        };
        let mut errors = Vec::new();
        for (ei, e) in op.error_responses.iter().enumerate() {
            let ptr = format!("/errorResponses/{ei}/code");
            match &e.code {
                ErrorCode::Int(c) if (100..=599).contains(c) => errors.push((*c, e.reason.clone())),
                ErrorCode::Int(c) => return Err(at.err(ptr, format!("{c} is not an HTTP status"))),
                ErrorCode::Str(s) => {
                    return Err(at.err(ptr, format!("error code {s:?} is a string (add a fixup)")))
                }
            }
        }
        let excluded = special_cases::EXCLUDED_OPERATIONS
            .contains(&(resource, op.nickname.as_str()))
            || op.upgrade.is_some();
        Ok(Operation {
            api_name: op.nickname.clone(),
            builder_name: names::builder_name(resource, &op.nickname),
            method_name,
            http_method,
            path: path.to_owned(),
            segments,
            summary: op.summary.clone(),
            notes: op.notes.clone(),
            since: {
                let mut since = op.since.clone();
                since.sort();
                since
            },
            params,
            response,
            errors,
            excluded,
            location: format!("{}#{}", at.file.file, at.loc),
        })
    }

    fn param(
        &mut self,
        at: &At<'_>,
        ptr: &str,
        op: &spec::Operation,
        p: &spec::Parameter,
        (path, segments): (&str, &[Segment]),
    ) -> Result<Param, Error> {
        let resource = at.file.resource.as_str();
        let name = names::field_name(&p.name);
        if !names::is_identifier(&name) || name == "client" {
            return Err(at.err(
                format!("{ptr}/name"),
                format!("parameter `{}` gives no usable name", p.name),
            ));
        }
        let multi = p.allow_multiple.unwrap_or(false);
        let mut required = p.required.unwrap_or(false);
        let kind = match p.param_type.as_str() {
            "path" => {
                if p.required == Some(false) {
                    return Err(at.err(
                        format!("{ptr}/required"),
                        "a path parameter cannot be optional",
                    ));
                }
                if !segments.contains(&Segment::Param(p.name.clone())) {
                    return Err(at.err(
                        format!("{ptr}/name"),
                        format!(
                            "path parameter `{}` has no `{{{}}}` in the path {}",
                            p.name, p.name, path
                        ),
                    ));
                }
                if multi || p.data_type != "string" {
                    return Err(at.err(ptr, "path parameters must be single strings"));
                }
                required = true;
                ParamKind::Path
            }
            "query" => ParamKind::Query,
            "body" => ParamKind::Body,
            other => {
                return Err(at.err(
                    format!("{ptr}/paramType"),
                    format!("unsupported paramType `{other}`"),
                ))
            }
        };
        let (mut ty, body) = match (kind, p.data_type.as_str()) {
            (ParamKind::Body, "containers") if p.name == "variables" => {
                let whole =
                    special_cases::WHOLE_BODY_VARIABLES.contains(&(resource, op.nickname.as_str()));
                let shape = if whole {
                    BodyShape::Whole
                } else {
                    BodyShape::Wrapped("variables")
                };
                (Type::Variables, Some(shape))
            }
            (ParamKind::Body, "containers") if p.name == "fields" => {
                let tuple = self
                    .model_ids
                    .get("ConfigTuple")
                    .ok_or_else(|| at.err(ptr, "`fields` needs model `ConfigTuple`"))?;
                let ty = Type::List(Box::new(Type::Model(tuple.1.clone())));
                (ty, Some(BodyShape::Wrapped("fields")))
            }
            (ParamKind::Body, "object") => (Type::Object, Some(BodyShape::Whole)),
            (ParamKind::Body, other) => {
                return Err(at.err(
                    format!("{ptr}/dataType"),
                    format!("unsupported body parameter type `{other}` for `{}`", p.name),
                ))
            }
            (_, "string") => (Type::String, None),
            (_, "int") => (Type::I32, None),
            (_, "long") => (Type::I64, None),
            (_, "boolean") => (Type::Bool, None),
            (_, "double") => (Type::F64, None),
            (_, other) => {
                return Err(at.err(
                    format!("{ptr}/dataType"),
                    format!("unsupported parameter type `{other}`"),
                ))
            }
        };
        let mut range = None;
        if let Some(av) = &p.allowable_values {
            let av_ptr = format!("{}{ptr}/allowableValues", at.loc);
            match av.value_type.to_ascii_uppercase().as_str() {
                "LIST" => {
                    if ty != Type::String {
                        return Err(at.err(
                            format!("{ptr}/allowableValues"),
                            "a LIST of values needs dataType `string`",
                        ));
                    }
                    let ename = names::parameter_enum_name(&op.nickname, &p.name);
                    ty = Type::Enum(self.add_enum(
                        &at.file.file,
                        &av_ptr,
                        ename,
                        &av.values,
                        format!("{resource}.{} {}", op.nickname, p.name),
                    )?);
                }
                "RANGE" => {
                    let mut parts = Vec::new();
                    if let Some(min) = &av.min {
                        parts.push(format!("at least {min}"));
                    }
                    if let Some(max) = &av.max {
                        parts.push(format!("at most {max}"));
                    }
                    range = Some(parts.join(", "));
                }
                other => {
                    return Err(at.err(
                        format!("{ptr}/allowableValues/valueType"),
                        format!("unsupported valueType `{other}`"),
                    ))
                }
            }
        }
        Ok(Param {
            name,
            api_name: p.name.clone(),
            kind,
            ty,
            required,
            multi,
            body,
            description: p.description.clone(),
            default: p.default_value.as_ref().map(|v| v.to_string()),
            range,
        })
    }
}

/// The path split into literal and template segments.
fn segments(at: &At<'_>, path: &str) -> Result<Vec<Segment>, Error> {
    let file = at.file.file.as_str();
    let Some(rest) = path.strip_prefix('/') else {
        return Err(err(file, at.path_ptr(), "path does not start with `/`"));
    };
    let mut segments = Vec::new();
    for s in rest.split('/') {
        if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            if name.is_empty() || segments.contains(&Segment::Param(name.to_owned())) {
                return Err(err(
                    file,
                    at.path_ptr(),
                    format!("bad or repeated template `{s}`"),
                ));
            }
            segments.push(Segment::Param(name.to_owned()));
        } else if s.contains(['{', '}']) || s.is_empty() {
            return Err(err(
                file,
                at.path_ptr(),
                format!("unsupported path segment `{s}`"),
            ));
        } else {
            segments.push(Segment::Literal(s.to_owned()));
        }
    }
    Ok(segments)
}
