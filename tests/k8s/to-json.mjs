#!/usr/bin/env node
// Prints the objects of YAML files (multi-document) as one JSON array, for tests that assert on
// rendered manifests: node tests/k8s/to-json.mjs FILE...
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const objects = [];
for (const file of process.argv.slice(2)) {
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
        if (document.errors.length > 0)
            throw new Error(`${file}: ${document.errors.map(e => e.message).join('; ')}`);
        const value = document.toJS();
        if (value !== null && value !== undefined)
            objects.push(value);
    }
}
process.stdout.write(JSON.stringify(objects));
