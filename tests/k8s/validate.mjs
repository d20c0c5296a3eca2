#!/usr/bin/env node
// Validates Kubernetes objects against the Kubernetes API's OpenAPI schemas with kubernetes-models
// (an independent validator, generated from the official schemas).
//
//   node tests/k8s/validate.mjs PATH...
//
// PATH is a YAML file (one or more documents), a JSON file (one object, an array of objects, or a
// List with items), a directory (every .yaml/.yml/.json file in it, recursively), or - for standard
// input (YAML or JSON). Every object is looked up by apiVersion and kind and validated; one line per
// object:
//
//   valid    apps/v1 StatefulSet tiered-metadata  (k8s/base/metadata.yaml)
//   INVALID  apps/v1 StatefulSet tiered-metadata  (k8s/base/metadata.yaml): data/spec/replicas must be integer
//   skipped  tiered.dev/v1alpha1 TieredCluster example  (…): no schema for this kind (a custom resource)
//
// An object is invalid when it breaks its kind's schema, or when it has a field its kind does not
// declare (a misspelt field), as `kubectl apply` with strict field validation refuses it; the
// schemas alone allow any additional field, so fields.mjs checks the names against
// kubernetes-models' type declarations. --allow-unknown-fields turns that check off.
// Objects without apiVersion or kind are invalid.
//
// Exit code: 0 when every object with a schema is valid (custom resources are skipped, not failed),
// 1 when one is invalid or a file cannot be read or parsed, 2 for bad usage.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { unknownFields } from './fields.mjs';

const extensions = new Set(['.yaml', '.yml', '.json']);

function filesOf(path) {
    if (path === '-')
        return ['-'];
    const stat = statSync(path);
    if (!stat.isDirectory())
        return [path];
    return readdirSync(path, { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))
        .flatMap(entry => {
            const child = join(path, entry.name);
            if (entry.isDirectory())
                return entry.name === 'node_modules' ? [] : filesOf(child);
            return extensions.has(extname(entry.name).toLowerCase()) ? [child] : [];
        });
}

/** The objects of one file: YAML documents (JSON is YAML too), arrays and Lists flattened, empty documents dropped. */
function objectsOf(file) {
    const text = readFileSync(file === '-' ? 0 : file, 'utf8');
    const objects = [];
    for (const document of parseAllDocuments(text)) {
        if (document.errors.length > 0)
            throw new Error(document.errors.map(e => e.message).join('; '));
        flatten(document.toJS(), objects);
    }
    return objects;
}

function flatten(value, into) {
    if (value === null || value === undefined)
        return;
    if (Array.isArray(value))
        value.forEach(v => flatten(v, into));
    else if (typeof value === 'object' && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items))
        value.items.forEach(v => flatten(v, into));
    else
        into.push(value);
}

/** The kubernetes-models class of apiVersion/kind, or null when it has none (a custom resource, an unknown kind). */
const models = new Map();
async function modelOf(apiVersion, kind) {
    const key = `${apiVersion}/${kind}`;
    if (!models.has(key)) {
        let model = null;
        // Only names a module path may be built from: "apps/v1", "v1", "policy/v1"; "StatefulSet".
        if (/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion) && /^[A-Z][A-Za-z0-9]*$/.test(kind)) {
            try {
                model = (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind] ?? null;
            } catch (e) {
                if (e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED' && e.code !== 'ERR_MODULE_NOT_FOUND')
                    throw e;
            }
        }
        models.set(key, model);
    }
    return models.get(key);
}

function describe(object) {
    const name = object?.metadata?.name ?? '(no name)';
    const namespace = object?.metadata?.namespace ? `${object.metadata.namespace}/` : '';
    return `${object?.apiVersion ?? '(no apiVersion)'} ${object?.kind ?? '(no kind)'} ${namespace}${name}`;
}

function message(error) {
    if (Array.isArray(error?.errors) && error.errors.length > 0)
        return error.errors.map(e => `data${e.instancePath ?? ''} ${e.message ?? e.keyword}`).join(', ');
    return error?.message ?? String(error);
}

async function main(args) {
    const allowUnknownFields = args.includes('--allow-unknown-fields');
    const paths = args.filter(a => a !== '--allow-unknown-fields');
    if (paths.length === 0 || paths.includes('--help') || paths.includes('-h')) {
        console.error('usage: node tests/k8s/validate.mjs [--allow-unknown-fields] PATH...  (YAML or JSON files, directories of them, or - for standard input)');
        return 2;
    }
    let invalid = 0, valid = 0, skipped = 0;
    for (const path of paths) {
        let files;
        try {
            files = filesOf(path);
        } catch (e) {
            console.log(`INVALID  ${path}: cannot be read: ${e.message}`);
            invalid++;
            continue;
        }
        for (const file of files) {
            let objects;
            try {
                objects = objectsOf(file);
            } catch (e) {
                console.log(`INVALID  ${file}: cannot be parsed: ${e.message}`);
                invalid++;
                continue;
            }
            for (const object of objects) {
                const what = `${describe(object)}  (${file === '-' ? 'stdin' : file})`;
                if (typeof object !== 'object' || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
                    console.log(`INVALID  ${what}: not a Kubernetes object (apiVersion and kind are required)`);
                    invalid++;
                    continue;
                }
                const Model = await modelOf(object.apiVersion, object.kind);
                if (Model === null) {
                    console.log(`skipped  ${what}: no schema for this kind (a custom resource or an unknown kind)`);
                    skipped++;
                    continue;
                }
                try {
                    new Model(object).validate();
                    const unknown = allowUnknownFields ? [] : unknownFields(object, object.apiVersion, object.kind);
                    if (unknown.length > 0) {
                        console.log(`INVALID  ${what}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
                        invalid++;
                        continue;
                    }
                    console.log(`valid    ${what}`);
                    valid++;
                } catch (e) {
                    console.log(`INVALID  ${what}: ${message(e)}`);
                    invalid++;
                }
            }
        }
    }
    console.log(`${valid} valid, ${invalid} invalid, ${skipped} skipped`);
    return invalid > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
