import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import type { PricedTemplate } from "../../domain/calls.ts";
import type { TemplateQuestion } from "../../domain/templates.ts";
import type { Db } from "../client.ts";
import { templates, templateVersions } from "../schema/index.ts";

export type TemplateRow = typeof templates.$inferSelect;
/** What analysing with a template needs: one version's name, provider and questions. */
export type TemplateVersionRow = Pick<TemplateRow, "id" | "version" | "name" | "provider" | "questions">;

export async function createTemplate(
  db: Db,
  input: {
    accountId: string;
    name: string;
    provider: string;
    active: boolean;
    questions: TemplateQuestion[];
  },
): Promise<TemplateRow> {
  const [row] = await db.insert(templates).values(input).returning();
  await db.insert(templateVersions).values({
    templateId: row!.id,
    version: row!.version,
    name: row!.name,
    provider: row!.provider,
    questions: row!.questions,
  });
  return row!;
}

export async function findTemplates(db: Db, accountId: string, options: { activeOnly?: boolean } = {}) {
  const conditions = [eq(templates.accountId, accountId), isNull(templates.deletedAt)];
  if (options.activeOnly) conditions.push(eq(templates.active, true));
  return db
    .select()
    .from(templates)
    .where(and(...conditions))
    .orderBy(asc(templates.createdAt), asc(templates.id));
}

/**
 * The exact template versions named (the ones a call was priced with), in the order named, from the
 * immutable version snapshots: later edits, activations or deletions change nothing here. Only the
 * account's own templates are found.
 */
export async function findTemplateVersions(
  db: Db,
  accountId: string,
  refs: readonly PricedTemplate[],
): Promise<TemplateVersionRow[]> {
  if (refs.length === 0) return [];
  const rows = await db
    .select({
      id: templateVersions.templateId,
      version: templateVersions.version,
      name: templateVersions.name,
      provider: templateVersions.provider,
      questions: templateVersions.questions,
    })
    .from(templateVersions)
    .innerJoin(templates, eq(templates.id, templateVersions.templateId))
    .where(
      and(
        eq(templates.accountId, accountId),
        inArray(
          templateVersions.templateId,
          refs.map((r) => r.templateId),
        ),
      ),
    );
  return refs.flatMap((ref) => rows.filter((r) => r.id === ref.templateId && r.version === ref.version));
}

export async function findTemplate(
  db: Db,
  accountId: string,
  templateId: string,
): Promise<TemplateRow | undefined> {
  const [row] = await db
    .select()
    .from(templates)
    .where(
      and(eq(templates.id, templateId), eq(templates.accountId, accountId), isNull(templates.deletedAt)),
    );
  return row;
}

/** Every edit makes a new version; earlier analyses keep pointing at the version they used. */
export async function updateTemplate(
  db: Db,
  accountId: string,
  templateId: string,
  patch: Partial<Pick<TemplateRow, "name" | "provider" | "active" | "questions">>,
  now: Date,
): Promise<TemplateRow | undefined> {
  return db.transaction(async (tx) => {
    const current = await tx
      .select()
      .from(templates)
      .where(
        and(eq(templates.id, templateId), eq(templates.accountId, accountId), isNull(templates.deletedAt)),
      )
      .for("update");
    const row = current[0];
    if (!row) return undefined;
    const contentChanged =
      patch.name !== undefined || patch.provider !== undefined || patch.questions !== undefined;
    const version = contentChanged ? row.version + 1 : row.version;
    const [updated] = await tx
      .update(templates)
      .set({ ...patch, version, updatedAt: now })
      .where(eq(templates.id, templateId))
      .returning();
    if (contentChanged) {
      await tx.insert(templateVersions).values({
        templateId,
        version,
        name: updated!.name,
        provider: updated!.provider,
        questions: updated!.questions,
      });
    }
    return updated;
  });
}

export async function deleteTemplate(
  db: Db,
  accountId: string,
  templateId: string,
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(templates)
    .set({ deletedAt: now, active: false })
    .where(and(eq(templates.id, templateId), eq(templates.accountId, accountId), isNull(templates.deletedAt)))
    .returning({ id: templates.id });
  return rows.length > 0;
}
