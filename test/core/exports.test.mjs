// The addon's export table (native/addon.cc) and its declaration (lib/addon/native.ts)
// name the same groups and the same members: an export missing from either side, or a
// function declared as a value, fails here rather than at the first call.
import t from 'tap';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import ts from 'typescript';
import { rawBinding } from '../helpers.mjs';

const file = createRequire(import.meta.url).resolve('../../lib/addon/native.ts');
const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
const interfaces = new Map(source.statements.filter(ts.isInterfaceDeclaration).map((i) => [i.name.text, i]));

// { member name: 'function' | 'value' } of one declared interface.
function declared(name) {
  const members = {};
  for (const m of interfaces.get(name).members) members[m.name.text] = ts.isMethodSignature(m) ? 'function' : 'value';
  return members;
}

const groups = Object.fromEntries(
  interfaces.get('NativeBinding').members.map((m) => [m.name.text, declared(m.type.typeName.text)]),
);

t.same(Object.keys(rawBinding).sort(), Object.keys(groups).sort(), 'the same groups');
for (const [group, members] of Object.entries(groups)) {
  const actual = Object.fromEntries(Object.entries(rawBinding[group] ?? {}).map(([k, v]) => [k, typeof v === 'function' ? 'function' : 'value']));
  t.same(actual, members, `native.${group}: the same members, functions where functions are declared`);
}

t.test('every function carries its own name', async (t) => {
  for (const [group, members] of Object.entries(rawBinding)) {
    for (const [name, value] of Object.entries(members)) if (typeof value === 'function') t.equal(value.name, name, `native.${group}.${name}`);
  }
});
