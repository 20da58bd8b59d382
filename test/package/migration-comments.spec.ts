import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';

const SRC = resolve(__dirname, '../../libs/mailroom/src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/**
 * The comments on Mailroom's tables, columns and indexes point a reader at the code that
 * uses them: every file they name exists (a path under libs/mailroom/src, or a file name
 * found there), and every statement named after a file is exported by that file.
 */
describe("the schema's comments", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('name files and statements that exist', async () => {
    const comments: { description: string }[] = await db.dataSource.query(
      `SELECT d.description FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
        WHERE d.classoid = 'pg_class'::regclass AND c.relname LIKE 'mailroom%'`,
    );
    const files = sources(SRC);
    const wrong: string[] = [];
    let named = 0;
    for (const { description } of comments) {
      for (const [, path, statement] of description.matchAll(/([\w./-]+\.ts)(?: ([A-Z][A-Z_]+)\b)?/g)) {
        named += 1;
        const file = path.includes('/')
          ? [join(SRC, path)].filter(existsSync)
          : files.filter((f) => basename(f) === path);
        if (file.length !== 1) wrong.push(`${path}: ${file.length} files`);
        else if (statement && !new RegExp(`export const ${statement}\\b`).test(readFileSync(file[0], 'utf8')))
          wrong.push(`${path} has no ${statement}`);
      }
    }
    expect(named).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });
});
