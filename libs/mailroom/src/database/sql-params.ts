/** The placeholder (`$1`, `$2`, …) of each named parameter, as fragments write them. */
export type Placeholders<K extends string> = { readonly [name in K]: string };

/** A statement's text and how to order its arguments for it. */
export interface Statement<K extends string> {
  readonly text: string;
  /** The arguments in placeholder order (every name required; pass null for SQL NULL). */
  values(args: { readonly [name in K]: unknown }): unknown[];
}

/**
 * A statement built from SQL fragments that name their parameters instead of numbering
 * them: a fragment takes the placeholders and writes `${p.lease}`; `statement` numbers
 * the names in the order given. So fragments combine, and a statement gains a parameter,
 * without anyone renumbering `$n` across files by hand.
 *
 * Fails at load (where the statements are defined, before any runs) when the text uses no
 * placeholder of a name, or a fragment reads a name the statement does not declare: the
 * first would be an argument Postgres cannot type, the second `undefined` in the SQL.
 */
export function statement<const N extends readonly string[]>(
  names: N,
  build: (p: Placeholders<N[number]>) => string,
): Statement<N[number]> {
  const numbered = new Map(names.map((name, i) => [name, `$${i + 1}`] as const));
  if (numbered.size !== names.length) throw new Error(`statement parameters repeat a name: ${names.join(', ')}`);
  const placeholders = new Proxy({} as Placeholders<N[number]>, {
    get(_, name) {
      const placeholder = numbered.get(String(name));
      if (placeholder === undefined)
        throw new Error(`statement has no parameter "${String(name)}": ${names.join(', ')}`);
      return placeholder;
    },
  });
  const text = build(placeholders);
  const unused = [...numbered].filter(([, placeholder]) => !new RegExp(`\\${placeholder}(?![0-9])`).test(text));
  if (unused.length) throw new Error(`statement never uses ${unused.map(([name]) => name).join(', ')}`);
  return {
    text,
    values: (args) => names.map((name) => (args as Record<string, unknown>)[name]),
  };
}
