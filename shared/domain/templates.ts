/** Analysis templates: the questions an account asks of every call. */

export type QuestionType = "boolean" | "score" | "choice" | "text";

export interface TemplateQuestion {
  key: string;
  text: string;
  type: QuestionType;
  options?: string[];
  scale?: { min: number; max: number };
  keywords?: { speaker?: "operator" | "client" | "any"; any: string[] };
}
