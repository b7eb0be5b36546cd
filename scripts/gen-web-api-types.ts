// npm run gen:web-types: writes the web app's API types (services/api/web/lib/api-types.d.ts) from the
// OpenAPI document the server builds from its zod schemas. Run it after changing a route's schemas; a unit
// test (scripts/lib/web-api-types.test.ts) fails while the committed file differs from what this writes.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildApiDocument, renderApiTypes, WEB_API_TYPES_PATH } from "./lib/web-api-types.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const target = path.join(root, WEB_API_TYPES_PATH);
writeFileSync(target, renderApiTypes(buildApiDocument()));
process.stdout.write(`wrote ${WEB_API_TYPES_PATH}\n`);
