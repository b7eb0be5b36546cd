import { boolean, index, integer, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import type { TemplateQuestion } from "../../domain/templates.ts";
import { accounts } from "./accounts.schema.ts";
import { createdAt, id, tstz } from "./columns.ts";

export const templates = pgTable(
  "templates",
  {
    id: id(),
    accountId: uuid("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    provider: text("provider").notNull().default("rules"),
    active: boolean("active").notNull().default(true),
    /** Incremented on every edit; analyses record the version they used. */
    version: integer("version").notNull().default(1),
    questions: jsonb("questions").$type<TemplateQuestion[]>().notNull(),
    createdAt: createdAt(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
    deletedAt: tstz("deleted_at"),
  },
  (t) => [index("templates_account_idx").on(t.accountId)],
);

/** Immutable snapshot of every version, so old answers keep the questions they answered. */
export const templateVersions = pgTable(
  "template_versions",
  {
    templateId: uuid("template_id")
      .notNull()
      .references(() => templates.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    name: text("name").notNull(),
    provider: text("provider").notNull(),
    questions: jsonb("questions").$type<TemplateQuestion[]>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.templateId, t.version] })],
);
