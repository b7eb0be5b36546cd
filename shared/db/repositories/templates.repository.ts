import { and, asc, eq, isNull } from "drizzle-orm";
import type { Db } from "../client.ts";
import { type TemplateQuestion, templates, templateVersions } from "../schema/index.ts";

export type TemplateRow = typeof templates.$inferSelect;

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
