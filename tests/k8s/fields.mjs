// Unknown fields: the schemas kubernetes-models validates with allow any additional property, so a
// misspelt field (publishNotReadyAdresses) passes them, where `kubectl apply` (strict field
// validation) refuses it. This reads the field names of each kind from kubernetes-models' own type
// declarations (.d.ts, generated from the same OpenAPI schemas) and reports every field of an
// object that its type does not declare. Only field names are checked here; values are the
// schemas' business.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The .d.ts of a module specifier ('kubernetes-models/apps/v1/StatefulSet', './X.js') seen from `from`. */
function declarationFile(specifier, from) {
    const js = specifier.startsWith('.') ? resolve(dirname(from), specifier) : fileURLToPath(import.meta.resolve(specifier));
    return js.replace(/\.js$/, '') + '.d.ts';
}

// ---- a parser for the subset of TypeScript these declaration files use ------------------------

function tokenize(text) {
    const tokens = [];
    const pattern = /\s+|\/\*[\s\S]*?\*\/|\/\/[^\n]*|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([A-Za-z_$][A-Za-z0-9_$]*)|(-?\d+(?:\.\d+)?)|(\?:|=>|[{}()<>\[\];:,|&=?.*])/gy;
    let match;
    while (pattern.lastIndex < text.length && (match = pattern.exec(text)) !== null) {
        if (match[1] !== undefined) tokens.push({ kind: 'string', value: JSON.parse(match[1].startsWith("'") ? `"${match[1].slice(1, -1)}"` : match[1]) });
        else if (match[2] !== undefined) tokens.push({ kind: 'ident', value: match[2] });
        else if (match[3] !== undefined) tokens.push({ kind: 'number', value: match[3] });
        else if (match[4] !== undefined) tokens.push({ kind: 'punct', value: match[4] });
    }
    return tokens;
}

class Parser {
    constructor(tokens) { this.tokens = tokens; this.at = 0; }
    peek(offset = 0) { return this.tokens[this.at + offset]; }
    is(value, offset = 0) { return this.peek(offset)?.value === value && this.peek(offset).kind !== 'string'; }
    next() { return this.tokens[this.at++]; }
    expect(value) {
        const token = this.next();
        if (token?.value !== value) throw new Error(`expected '${value}', found '${token?.value}'`);
    }

    type() {
        const members = [this.postfix()];
        while (this.is('|') || this.is('&')) {
            this.next();
            members.push(this.postfix());
        }
        return members.length === 1 ? members[0] : { kind: 'union', of: members };
    }

    postfix() {
        let type = this.primary();
        while (this.is('[') && this.is(']', 1)) {
            this.next(); this.next();
            type = { kind: 'array', of: type };
        }
        return type;
    }

    primary() {
        const token = this.next();
        if (token.kind === 'string' || token.kind === 'number') return { kind: 'any' };
        if (token.value === '(') { const t = this.type(); this.expect(')'); return t; }
        if (token.value === '{') return this.members('}');
        if (token.kind === 'ident') {
            const args = [];
            if (this.is('<')) {
                this.next();
                args.push(this.type());
                while (this.is(',')) { this.next(); args.push(this.type()); }
                this.expect('>');
            }
            if (token.value === 'Array' && args.length === 1) return { kind: 'array', of: args[0] };
            return { kind: 'ref', name: token.value };
        }
        throw new Error(`unexpected '${token.value}'`);
    }

    /** `{ "name"?: T; [key: string]: T; }` after the opening brace. */
    members(close) {
        const props = new Map();
        let index = null;
        while (!this.is(close)) {
            if (this.is('[')) {
                this.next(); this.next(); this.expect(':'); this.type(); this.expect(']'); this.expect(':');
                index = this.type();
            } else {
                const name = this.next().value;
                if (this.is('?:')) this.next(); else { if (this.is('?')) this.next(); this.expect(':'); }
                props.set(name, this.type());
            }
            if (this.is(';') || this.is(',')) this.next();
        }
        this.next();
        return { kind: 'object', props, index };
    }
}

// ---- the declarations of one file ----------------------------------------------------------

const files = new Map();

/** Imports, exported aliases, interfaces and type aliases of one .d.ts file. */
function declarations(file) {
    if (files.has(file)) return files.get(file);
    const tokens = tokenize(readFileSync(file, 'utf8'));
    const result = { file, imports: new Map(), aliases: new Map(), types: new Map() };
    const parser = new Parser(tokens);
    while (parser.at < tokens.length) {
        if (parser.is('import') && parser.is('{', 1)) {
            parser.next(); parser.next();
            const names = [];
            while (!parser.is('}')) { const t = parser.next(); if (t.kind === 'ident') names.push(t.value); }
            parser.next(); parser.expect('from');
            const from = parser.next().value;
            for (const name of names) result.imports.set(name, from);
        } else if (parser.is('export') && parser.is('type', 1) && parser.is('{', 2)) {
            parser.at += 3;
            while (!parser.is('}')) {
                const local = parser.next().value;
                if (parser.is('as')) { parser.next(); result.aliases.set(parser.next().value, local); }
                if (parser.is(',')) parser.next();
            }
            parser.next();
        } else if (parser.is('interface')) {
            parser.next();
            const name = parser.next().value;
            while (!parser.is('{')) parser.next(); // extends …
            parser.next();
            result.types.set(name, parser.members('}'));
        } else if (parser.is('type') && parser.peek(1)?.kind === 'ident' && parser.is('=', 2)) {
            parser.next();
            const name = parser.next().value;
            parser.next();
            result.types.set(name, parser.type());
        } else {
            parser.next();
        }
    }
    files.set(file, result);
    return result;
}

const primitives = new Set(['string', 'number', 'boolean', 'any', 'unknown', 'object', 'null', 'undefined', 'never', 'Date', 'TypeMeta', 'ModelData']);

/** The type a name stands for in a file, followed through imports and aliases; null: anything goes. */
function resolveName(file, name, depth = 0) {
    if (primitives.has(name) || depth > 20) return null;
    const own = declarations(file);
    if (own.types.has(name)) return { type: own.types.get(name), file };
    if (own.aliases.has(name)) return resolveName(file, own.aliases.get(name), depth + 1);
    if (own.imports.has(name)) {
        const from = own.imports.get(name);
        if (from === '@kubernetes-models/base') return null;
        return resolveName(declarationFile(from, file), name, depth + 1);
    }
    return null;
}

/** Paths of the fields of `value` that `type` (declared in `file`) does not declare. */
function unknown(value, type, file, path, found) {
    if (type === null || value === null || typeof value !== 'object') return;
    switch (type.kind) {
        case 'any':
            return;
        case 'ref': {
            const resolved = resolveName(file, type.name);
            if (resolved !== null) unknown(value, resolved.type, resolved.file, path, found);
            return;
        }
        case 'array':
            if (Array.isArray(value)) value.forEach((item, i) => unknown(item, type.of, file, `${path}[${i}]`, found));
            return;
        case 'union': {
            // The value is unknown-free if it is so for any member (IntOrString, JSONSchemaPropsOrBool, …).
            let best = null;
            for (const member of type.of) {
                const errors = [];
                unknown(value, member, file, path, errors);
                if (errors.length === 0) return;
                if (best === null || errors.length < best.length) best = errors;
            }
            found.push(...best);
            return;
        }
        case 'object':
            // An empty declaration is a type the schema leaves open (JSONSchemaPropsOrArray,
            // JSONSchemaPropsOrBool, JSON, RawExtension): it declares no field, so it restricts none.
            if (Array.isArray(value) || (type.props.size === 0 && type.index === null)) return;
            for (const [key, child] of Object.entries(value)) {
                const childPath = path ? `${path}.${key}` : key;
                if (type.props.has(key)) unknown(child, type.props.get(key), file, childPath, found);
                else if (type.index !== null) unknown(child, type.index, file, childPath, found);
                else found.push(childPath);
            }
            return;
    }
}

/**
 * The fields of `object` that the kubernetes-models type of `apiVersion/kind` does not declare,
 * as paths ("spec.template.spec.containers[0].livenesProbe"); empty when there are none (or when
 * the kind has no declaration to check against).
 */
export function unknownFields(object, apiVersion, kind) {
    const file = declarationFile(`kubernetes-models/${apiVersion}/${kind}`, import.meta.filename ?? fileURLToPath(import.meta.url));
    const resolved = resolveName(file, `I${kind}`);
    if (resolved === null) return []; // no declaration to check against: the schema's verdict stands
    const found = [];
    unknown(object, resolved.type, resolved.file, '', found);
    return found;
}
