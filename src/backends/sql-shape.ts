/**
 * A query's shape: everything its compiled SQL depends on but the operand values, as a string,
 * with those values in a list. Queries of one shape compile to the same SQL text, with the
 * values bound as parameters, so sql-query.ts compiles each shape once and keeps it.
 *
 * An operand's kind is part of the shape (a string compiles to another comparison than a number),
 * and so is what the SQL writes literally: the paths, the operators, `$exists`'s flag, the limit
 * and the skip.
 * @module
 */
import type { Query, QueryNode, QueryValue } from '../query/query.js';

type FieldNode = Extract<QueryNode, { kind: 'field' }>;

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether a path can be compiled: field names only (or `id`). */
export function isCompilablePath(segments: readonly string[]): boolean {
  return segments.every((segment) => FIELD.test(segment));
}

/**
 * The operands of a field condition, in the order the compiler numbers them: an `$in`'s items
 * one by one, none for `$exists` (its flag is written in the SQL), else its one value.
 */
export function operandsOf(node: FieldNode): readonly QueryValue[] {
  if (node.op === 'exists') return [];
  return node.op === 'in' ? (node.value as readonly QueryValue[]) : [node.value];
}

/** The kind of an operand as the compiler tells them apart; 'other' is not compiled. */
export function operandKind(value: QueryValue): 'null' | 'text' | 'number' | 'boolean' | 'other' {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.includes('\u0000') ? 'other' : 'text';
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : 'other';
  if (typeof value === 'boolean') return 'boolean';
  return 'other';
}

/** A query's shape and its operands, or undefined when a path it reads is not compiled to SQL. */
export interface Shape {
  readonly key: string;
  readonly operands: readonly QueryValue[];
}

/** The shape of `query` (see the module's comment). */
export function shapeOf(query: Query): Shape | undefined {
  const operands: QueryValue[] = [];
  const where = nodeShape(query.where, operands);
  if (where === undefined) return undefined;
  let sort = '';
  for (const key of query.sort) {
    if (!isCompilablePath(key.segments)) return undefined;
    sort += ` ${key.path}${key.direction === 1 ? '+' : '-'}`;
  }
  return { key: `${where} sort${sort} limit ${query.limit ?? ''} skip ${query.skip}`, operands };
}

/** The shape of one node, its operands pushed in order; undefined when a path is not compiled. */
function nodeShape(node: QueryNode, operands: QueryValue[]): string | undefined {
  switch (node.kind) {
    case 'and':
    case 'or': {
      let shape = `${node.kind}(`;
      for (const child of node.nodes) {
        const inner = nodeShape(child, operands);
        if (inner === undefined) return undefined;
        shape += `${inner},`;
      }
      return `${shape})`;
    }
    case 'not': {
      const inner = nodeShape(node.negated, operands);
      return inner === undefined ? undefined : `not(${inner})`;
    }
    case 'field': {
      if (!isCompilablePath(node.segments)) return undefined;
      if (node.op === 'exists') return `${node.path} exists ${node.value === true}`;
      let kinds = '';
      for (const value of operandsOf(node)) {
        operands.push(value);
        kinds += ` ${operandKind(value)}`;
      }
      return `${node.path} ${node.op}${kinds}`;
    }
  }
}
