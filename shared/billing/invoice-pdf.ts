import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import PDFDocument from "pdfkit";
import type { Money } from "../money/money.ts";
import { astanaDate } from "../time/astana-time.ts";

/**
 * The bank-transfer invoice as a PDF (clause 7.3.1), in Russian. The standard PDF fonts have no Cyrillic,
 * let alone the Kazakh letters (ә ғ қ ң ө ұ ү һ і), so DejaVu Sans is embedded (subset) from Debian's
 * `fonts-dejavu-core` package.
 */
export const DEJAVU_FONT_DIR = "/usr/share/fonts/truetype/dejavu";
const REGULAR_FONT = "DejaVuSans.ttf";
const BOLD_FONT = "DejaVuSans-Bold.ttf";

export interface InvoicePdfParty {
  name: string;
  /** БИН or ИИН, 12 digits. */
  bin: string;
  address: string;
}

export interface SellerRequisites extends InvoicePdfParty {
  bank: string;
  /** БИК (SWIFT code) of the bank. */
  bik: string;
  /** ИИК: the IBAN of the seller's account. */
  iik: string;
  /** Кбе: the beneficiary's residence and economic sector code. */
  kbe: string;
  vatNote: string;
}

/**
 * PLACEHOLDER requisites of the operator of the service, until the legal entity's real ones are known:
 * replace them here (this is the only place they live). They are printed on every invoice.
 */
export const TYNDAU_SELLER: SellerRequisites = {
  name: "ТОО «Tyndau» (реквизиты-заполнитель)",
  bin: "000000000000",
  address: "Республика Казахстан, г. Астана (адрес-заполнитель)",
  bank: "АО «Банк» (заполнитель)",
  bik: "XXXXKZKA",
  iik: "KZ000000000000000000",
  kbe: "17",
  vatNote: "Без НДС",
};

export interface InvoicePdfInvoice {
  number: string;
  createdAt: Date;
  /** Exclusive end of validity (00:00 Astana after the last valid day), as invoiceValidUntil returns it. */
  validUntil: Date;
  amount: Money;
  /** The Tyndau account the money tops up (its company name), so staff can match the transfer. */
  accountCompany?: string;
}

export interface InvoicePdfOptions {
  /** Where DejaVuSans.ttf and DejaVuSans-Bold.ttf are (default: Debian's fonts-dejavu-core location). */
  fontDir?: string;
}

/** The "purpose of payment" line the payer must copy: the invoice number is what staff match on. */
export function invoicePaymentPurpose(invoice: Pick<InvoicePdfInvoice, "number" | "createdAt">): string {
  return `Оплата по счёту № ${invoice.number} от ${ruDate(astanaDate(invoice.createdAt))} за пополнение баланса в сервисе Tyndau`;
}

export async function renderInvoicePdf(
  invoice: InvoicePdfInvoice,
  seller: SellerRequisites,
  buyer: InvoicePdfParty,
  options: InvoicePdfOptions = {},
): Promise<Buffer> {
  const fonts = resolveFonts(options.fontDir ?? DEJAVU_FONT_DIR);
  const doc = new PDFDocument({
    size: "A4",
    margin: 50,
    info: {
      Title: `Счёт на оплату № ${invoice.number}`,
      Author: seller.name,
      Subject: "Пополнение баланса Tyndau",
      CreationDate: invoice.createdAt,
    },
  });
  const done = collect(doc);
  doc.registerFont("regular", fonts.regular);
  doc.registerFont("bold", fonts.bold);

  const amount = formatAmount(invoice.amount);
  const currency = invoice.amount.currency;
  const lastValidDay = ruDate(astanaDate(new Date(invoice.validUntil.getTime() - 1)));
  const left = doc.page.margins.left;
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;

  doc.font("bold").fontSize(16).text(`Счёт на оплату № ${invoice.number}`, { align: "left" });
  doc
    .font("regular")
    .fontSize(11)
    .text(`от ${ruDate(astanaDate(invoice.createdAt))}`);
  doc.moveDown();

  section(doc, "Поставщик", [
    seller.name,
    `БИН: ${seller.bin}`,
    `Адрес: ${seller.address}`,
    `Банк: ${seller.bank}, БИК: ${seller.bik}`,
    `ИИК: ${seller.iik}, Кбе: ${seller.kbe}`,
  ]);
  section(doc, "Покупатель", [buyer.name, `БИН/ИИН: ${buyer.bin}`, `Адрес: ${buyer.address}`]);

  // One line item: the prepayment that tops up the balance.
  const columns = [
    { title: "№", width: 25, align: "left" as const },
    { title: "Наименование", width: width - 25 - 50 - 105 - 105, align: "left" as const },
    { title: "Кол.", width: 50, align: "right" as const },
    { title: "Цена", width: 105, align: "right" as const },
    { title: "Сумма", width: 105, align: "right" as const },
  ];
  const item = [
    "1",
    `Пополнение баланса лицевого счёта в сервисе Tyndau (предоплата за услуги)${
      invoice.accountCompany ? `, аккаунт: ${invoice.accountCompany}` : ""
    }`,
    "1",
    amount,
    amount,
  ];
  tableRow(
    doc,
    left,
    columns,
    columns.map((c) => c.title),
    "bold",
  );
  tableRow(doc, left, columns, item, "regular");
  doc.moveDown();

  doc
    .font("bold")
    .fontSize(11)
    .text(`Итого к оплате: ${amount} ${currency}`, left, doc.y, { width, align: "right" });
  doc.font("regular").text(seller.vatNote, { width, align: "right" });
  doc.text(
    `Валюта счёта: ${currency}. Оплата в другой валюте конвертируется за счёт плательщика.`,
    left,
    doc.y,
    {
      width,
    },
  );
  doc.moveDown();

  doc.font("bold").text("Срок действия: ", { continued: true });
  doc
    .font("regular")
    .text(
      `до ${lastValidDay} включительно (24:00 по времени Астаны, UTC+05:00). ` +
        "Оплата, поступившая после этого срока, не зачисляется и возвращается плательщику.",
    );
  doc.moveDown(0.5);
  doc.font("bold").text("Назначение платежа: ", { continued: true });
  doc.font("regular").text(`${invoicePaymentPurpose(invoice)}. ${seller.vatNote}.`);
  doc.moveDown();
  doc
    .fontSize(9)
    .fillColor("#555555")
    .text(
      "Счёт сформирован пользователем в личном кабинете Tyndau (п. 7.3 Лицензионного соглашения). " +
        "Пользователь отвечает за правильность реквизитов плательщика и суммы. Средства зачисляются на " +
        "баланс в течение 1–3 рабочих дней после поступления на счёт поставщика.",
    );

  doc.end();
  return done;
}

/** Font files read once per directory (about 1 MB together), not once per invoice. */
const fontCache = new Map<string, { regular: Buffer; bold: Buffer }>();

function resolveFonts(dir: string): { regular: Buffer; bold: Buffer } {
  const cached = fontCache.get(dir);
  if (cached) return cached;
  const [regular, bold] = [REGULAR_FONT, BOLD_FONT].map((name) => {
    const file = path.join(dir, name);
    if (!existsSync(file)) {
      throw new Error(
        `Invoice PDFs need the DejaVu Sans font (Cyrillic and Kazakh letters) at ${file}: ` +
          "install the Debian package fonts-dejavu-core (apt-get install fonts-dejavu-core).",
      );
    }
    return readFileSync(file);
  });
  const fonts = { regular: regular!, bold: bold! };
  fontCache.set(dir, fonts);
  return fonts;
}

function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
}

function section(doc: PDFKit.PDFDocument, title: string, lines: string[]): void {
  doc.font("bold").fontSize(11).text(`${title}:`);
  doc.font("regular").fontSize(10);
  for (const line of lines) doc.text(line);
  doc.moveDown(0.7);
}

function tableRow(
  doc: PDFKit.PDFDocument,
  left: number,
  columns: { width: number; align: "left" | "right" }[],
  cells: string[],
  font: "regular" | "bold",
): void {
  const padding = 4;
  doc.font(font).fontSize(10);
  const top = doc.y;
  const heights = columns.map((c, i) =>
    doc.heightOfString(cells[i] ?? "", { width: c.width - 2 * padding, align: c.align }),
  );
  const height = Math.max(...heights) + 2 * padding;
  let x = left;
  for (const [i, column] of columns.entries()) {
    doc.rect(x, top, column.width, height).stroke();
    doc.text(cells[i] ?? "", x + padding, top + padding, {
      width: column.width - 2 * padding,
      align: column.align,
    });
    x += column.width;
  }
  doc.x = left;
  doc.y = top + height;
}

/** "1234567.5" KZT → "1 234 567,50" (two decimals, thin groups; the amount string never passes through a float). */
export function formatAmount(amount: Money): string {
  const [whole = "0", fraction = "00"] = amount.toFixed(2).split(".");
  const negative = whole.startsWith("-");
  const digits = negative ? whole.slice(1) : whole;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
  return `${negative ? "-" : ""}${grouped},${fraction}`;
}

/** "2026-04-10" → "10.04.2026". */
function ruDate(isoDate: string): string {
  return `${isoDate.slice(8, 10)}.${isoDate.slice(5, 7)}.${isoDate.slice(0, 4)}`;
}
