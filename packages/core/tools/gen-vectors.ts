/** Writes packages/core/vectors/*.json (npm run vectors). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateVectors } from './vectors.js';

const dir = path.resolve(import.meta.dirname, '../vectors');
mkdirSync(dir, { recursive: true });
const v = await generateVectors();
for (const [name, content] of Object.entries(v)) {
  writeFileSync(path.join(dir, name), JSON.stringify(content, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), path.join(dir, name))}`);
}
