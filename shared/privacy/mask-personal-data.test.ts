import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DialogueLine } from "../providers/analysis/call-analyzer.ts";
import { maskDialogue, maskPersonalData, passesLuhn } from "./mask-personal-data.ts";

/** Written apart from the code under test: the textbook Luhn sum. */
function referenceLuhn(digits: string): boolean {
  const sum = Array.from(digits)
    .reverse()
    .map(Number)
    .reduce((acc, d, i) => acc + (i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
  return sum % 10 === 0;
}

const masked = (text: string, locale?: "ru" | "kk" | "en") => maskPersonalData(text, { locale }).text;
const digitsOf = (text: string) => text.replace(/\D/g, "");

type Row = [language: string, input: string, expected: string];

const cards: Row[] = [
  ["ru", "Номер карты 4400 4302 1234 5679, срок до декабря", "Номер карты [CARD ****5679], срок до декабря"],
  ["ru", "карта 2200-7001-2345-6781", "карта [CARD ****6781]"],
  ["kk", "Карта нөмірі 5400998877665547 болады", "Карта нөмірі [CARD ****5547] болады"],
  ["kk", "Картам: 4111 1111 1111 1111, рахмет", "Картам: [CARD ****1111], рахмет"],
  ["en", "my card is 4111 1111 1111 1111 thanks", "my card is [CARD ****1111] thanks"],
  ["en", "Amex 3782 822463 10005 please", "Amex [CARD ****0005] please"],
  ["en", "18 digits 620000000000000005 ok", "18 digits [CARD ****0005] ok"],
];

const phones: Row[] = [
  ["ru", "Мой номер +7 (701) 123-45-67, перезвоните", "Мой номер [PHONE +7 *** *** ** 67], перезвоните"],
  [
    "ru",
    "звоните 8 701 123 45 67 или 87771234567",
    "звоните [PHONE +7 *** *** ** 67] или [PHONE +7 *** *** ** 67]",
  ],
  ["ru", "сотовый +7 912 345-67-89", "сотовый [PHONE +7 *** *** ** 89]"],
  ["ru", "рабочий 8 (7172) 55-12-34", "рабочий [PHONE +7 *** *** ** 34]"],
  ["ru", "без кода: 705 111 22 33", "без кода: [PHONE +7 *** *** ** 33]"],
  [
    "kk",
    "Менің нөмірім 8 747 555 12 34, хабарласыңыз",
    "Менің нөмірім [PHONE +7 *** *** ** 34], хабарласыңыз",
  ],
  ["kk", "Нөмірім +77761234590", "Нөмірім [PHONE +7 *** *** ** 90]"],
  ["en", "call me at +7 701 555 0199", "call me at [PHONE +7 *** *** ** 99]"],
  ["en", "office +7 727 250 00 00", "office [PHONE +7 *** *** ** 00]"],
  // dictated digit by digit
  [
    "ru",
    "запишите: восемь семь ноль один два три четыре пять шесть семь восемь",
    "запишите: [PHONE +7 *** *** ** 78]",
  ],
  ["ru", "плюс семь семь ноль пять, один один один, двадцать два, тридцать три", "[PHONE +7 *** *** ** 33]"],
  ["ru", "Восемь, семьсот один, сто двадцать три, сорок пять, шестьдесят семь.", "[PHONE +7 *** *** ** 67]."],
  ["ru", "добавочный: два три четыре пять шесть семь восемь", "добавочный: [PHONE *** ** 78]"],
  ["ru", "нуль ноль семь семь девять девять восемь", "[PHONE *** ** 98]"],
  ["kk", "нөмірім сегіз жеті нөл бір екі үш төрт бес алты жеті сегіз", "нөмірім [PHONE +7 *** *** ** 78]"],
  ["kk", "сегіз жеті жүз жеті бір екі үш қырық бес алпыс жеті", "[PHONE +7 *** *** ** 67]"],
  ["kk", "Сегиз жети нол бир еки уш торт бес алты жети тогыз", "[PHONE +7 *** *** ** 79]"],
  ["en", "eight seven zero one two three four five six seven eight", "[PHONE +7 *** *** ** 78]"],
  ["en", "it's eight seven oh one, five five five, one two three four", "it's [PHONE +7 *** *** ** 34]"],
  ["en", "plus seven seven oh one double two three four five six seven", "[PHONE +7 *** *** ** 67]"],
];

const iins: Row[] = [
  ["ru", "ИИН 900101300811, проверьте", "ИИН [IIN/BIN], проверьте"],
  ["ru", "БИН компании 971 240 001 315", "БИН компании [IIN/BIN]"],
  ["kk", "ЖСН 850312400128 екен", "ЖСН [IIN/BIN] екен"],
  ["kk", "БСН: 940140000385.", "БСН: [IIN/BIN]."],
  ["en", "my IIN is 920705500334", "my IIN is [IIN/BIN]"],
];

const emails: Row[] = [
  ["ru", "почта aigerim.n@kaspi.kz, жду", "почта [EMAIL a***@***.kz], жду"],
  ["ru", "пишите на Ivan.Petrov+sales@mail.ru.", "пишите на [EMAIL I***@***.ru]."],
  ["ru", "адрес почта@пример.рф", "адрес [EMAIL п***@***.рф]"],
  ["kk", "Поштам: nurlan_88@gmail.com", "Поштам: [EMAIL n***@***.com]"],
  ["en", "send it to j.smith@corp.example.co.uk today", "send it to [EMAIL j***@***.uk] today"],
];

const untouched: [language: string, input: string][] = [
  ["ru", "Стоимость 15 000 тенге, скидка 15000 тенге"],
  ["ru", "встреча 12.05.2024 в 10:30, перезвоню в 18:45"],
  ["ru", "номер заказа 4400 4302 1234 5678"],
  ["ru", "ИИН 900101300812"],
  ["ru", "ИИН 90010130081 и 9001013008111"],
  ["ru", "заказ 7011234567, счёт 40817810099910004312"],
  ["ru", "в 2024 году 150 000 клиентов, от 8 до 10 человек"],
  ["ru", "сумма 1 500 000 тенге, 2 000 000 тенге"],
  ["ru", "у нас пять-шесть менеджеров, двадцать пять тысяч тенге"],
  ["ru", "сто двадцать, сто тридцать, сто сорок тысяч"],
  ["ru", "Транзакция 2024-05-12 10:30:15"],
  ["kk", "Тапсырыс нөмірі 5400998877665548"],
  ["kk", "Бағасы 15 000 теңге, екі-үш күн ішінде жеткіземіз"],
  ["kk", "Сағат 10:30-да, 2024 жылғы 12 мамырда"],
  ["kk", "ЖСН 850312400127"],
  ["en", "order 1234 5678 9012 3456 for 4 items"],
  ["en", "two or three days, one two three four five six"],
  ["en", "follow @kaspi_bank, write to @mail.ru or user@localhost"],
  ["en", "landline 87272123456 written without spaces"],
];

describe("maskPersonalData", () => {
  describe.each([
    ["card", cards],
    ["phone", phones],
    ["iin_bin", iins],
    ["email", emails],
  ] as const)("%s", (kind, rows) => {
    it.each(rows)("[%s] %s", (_language, input, expected) => {
      const result = maskPersonalData(input);
      expect(result.text).toBe(expected);
      expect(result.found.find((f) => f.kind === kind)?.count).toBeGreaterThan(0);
      expect(result.found.map((f) => f.kind)).toEqual([kind]);
    });
  });

  it.each(untouched)("[%s] leaves ordinary numbers and text alone: %s", (_language, input) => {
    expect(maskPersonalData(input)).toEqual({ text: input, found: [] });
  });

  it("masks every kind in one mixed sentence and counts them", () => {
    const cases: Row[] = [
      [
        "ru",
        "Меня зовут Айгерим, ИИН 900101300811, телефон 8 701 123 45 67, почта a.n@kaspi.kz, карта 4400 4302 1234 5679, заказ 12345 на 15 000 тенге.",
        "Меня зовут Айгерим, ИИН [IIN/BIN], телефон [PHONE +7 *** *** ** 67], почта [EMAIL a***@***.kz], карта [CARD ****5679], заказ 12345 на 15 000 тенге.",
      ],
      [
        "kk",
        "Сәлеметсіз бе, ЖСН 850312400128, нөмірім сегіз жеті жеті жеті бір екі үш төрт бес алты жеті, поштам nurlan@mail.kz, картам 5400998877665547, бағасы 20 000 теңге.",
        "Сәлеметсіз бе, ЖСН [IIN/BIN], нөмірім [PHONE +7 *** *** ** 67], поштам [EMAIL n***@***.kz], картам [CARD ****5547], бағасы 20 000 теңге.",
      ],
      [
        "en",
        "Hi, my IIN is 920705500334, phone +7 777 123 4567, email john@example.com, card 4111-1111-1111-1111, order 55 at 10:30.",
        "Hi, my IIN is [IIN/BIN], phone [PHONE +7 *** *** ** 67], email [EMAIL j***@***.com], card [CARD ****1111], order 55 at 10:30.",
      ],
    ];
    for (const [, input, expected] of cases) {
      const result = maskPersonalData(input);
      expect(result.text).toBe(expected);
      expect(result.found).toEqual([
        { kind: "card", count: 1 },
        { kind: "phone", count: 1 },
        { kind: "iin_bin", count: 1 },
        { kind: "email", count: 1 },
      ]);
    }
  });

  it("does not mask the digits inside an e-mail address a second time", () => {
    expect(maskPersonalData("87011234567@mail.ru")).toEqual({
      text: "[EMAIL 8***@***.ru]",
      found: [{ kind: "email", count: 1 }],
    });
  });

  it("reads Kazakh «он» as ten unless the call is Russian", () => {
    const text = "сегіз жеті жүз бір жүз он бір жиырма екі отыз үш";
    expect(masked(text, "kk")).toBe("[PHONE +7 *** *** ** 33]");
    expect(masked(text)).toBe("[PHONE +7 *** *** ** 33]");
    expect(masked(text, "ru")).toBe(text);
    expect(masked("Он сказал: семь, он ушёл", "ru")).toBe("Он сказал: семь, он ушёл");
  });

  it("is idempotent on every table row", () => {
    const all = [...cards, ...phones, ...iins, ...emails].map((r) => r[1]).concat(untouched.map((r) => r[1]));
    for (const input of all) {
      const once = maskPersonalData(input).text;
      expect(maskPersonalData(once)).toEqual({ text: once, found: [] });
    }
  });
});

describe("passesLuhn", () => {
  it("agrees with a reference implementation", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{1,19}$/), (digits) => {
        expect(passesLuhn(digits)).toBe(referenceLuhn(digits));
      }),
    );
    expect(passesLuhn("")).toBe(false);
    expect(passesLuhn("4111 1111")).toBe(false);
  });
});

describe("maskPersonalData properties", () => {
  const letters = Array.from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZабвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯәғқңөұүһіӘҒҚҢӨҰҮҺІ",
  );
  const punctuation = Array.from(" .,;:!?-–—()+*[]/\\'\"\n\t#%&_");
  const digitFree = fc.string({ unit: fc.constantFrom(...punctuation, ...letters), maxLength: 200 });

  it("leaves text without digits or '@' unchanged", () => {
    fc.assert(
      fc.property(digitFree, (text) => {
        expect(maskPersonalData(text)).toEqual({ text, found: [] });
      }),
      { numRuns: 500 },
    );
  });

  const digitRich = fc.string({
    unit: fc.constantFrom(
      ..."0123456789".repeat(6),
      " ",
      " ",
      "-",
      "(",
      ")",
      "+",
      "a",
      "б",
      "@",
      ".",
      "k",
      "z",
    ),
    maxLength: 120,
  });

  it("never leaves a Luhn-valid run of 16 digits", () => {
    const chunks = fc.array(fc.oneof(fc.stringMatching(/^\d{16}$/), digitRich, digitFree), { maxLength: 6 });
    fc.assert(
      fc.property(chunks, fc.constantFrom(" ", ", ", "-", ""), (parts, joiner) => {
        const out = maskPersonalData(parts.join(joiner)).text;
        for (const run of out.match(/\d+/g) ?? []) {
          if (run.length === 16) expect(referenceLuhn(run)).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("masks any valid card in any common layout, keeping only its last four digits", () => {
    const card = fc.stringMatching(/^[2-6]\d{14}$/).map((body) => {
      for (let d = 0; d <= 9; d++) if (referenceLuhn(`${body}${d}`)) return `${body}${d}`;
      throw new Error("unreachable: one check digit always fits");
    });
    const layout = fc.constantFrom(
      (c: string) => c,
      (c: string) => c.replace(/(\d{4})(?=\d)/g, "$1 "),
      (c: string) => c.replace(/(\d{4})(?=\d)/g, "$1-"),
    );
    fc.assert(
      fc.property(digitFree, card, layout, digitFree, (before, number, format, after) => {
        const result = maskPersonalData(`${before} ${format(number)} ${after}`);
        expect(result.text).toContain(`[CARD ****${number.slice(-4)}]`);
        expect(digitsOf(result.text)).toBe(number.slice(-4));
        expect(result.found).toEqual([{ kind: "card", count: 1 }]);
      }),
      { numRuns: 300 },
    );
  });

  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.oneof(digitRich, digitFree), (text) => {
        const once = maskPersonalData(text).text;
        expect(maskPersonalData(once).text).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("maskDialogue", () => {
  const line = (speaker: DialogueLine["speaker"], startSec: number, text: string): DialogueLine => ({
    speaker,
    startSec,
    endSec: startSec + 2,
    text,
  });

  it("masks a number the recogniser split across two lines of the same speaker", () => {
    const { lines, found } = maskDialogue([
      line("operator", 0, "Продиктуйте номер, пожалуйста"),
      line("client", 2, "мой номер восемь семь ноль один"),
      line("client", 4, "два три четыре пять шесть семь восемь, записали?"),
      line("operator", 6, "Да, записала"),
    ]);
    expect(lines).toEqual([
      line("operator", 0, "Продиктуйте номер, пожалуйста"),
      line("client", 2, "мой номер [PHONE +7 *** *** ** 78]"),
      line("client", 4, "записали?"),
      line("operator", 6, "Да, записала"),
    ]);
    expect(found).toEqual([{ kind: "phone", count: 1 }]);
  });

  it("does not join different speakers' digits and counts every line", () => {
    const { lines, found } = maskDialogue([
      line("client", 0, "восемь семь ноль один"),
      line("operator", 2, "два три четыре пять шесть семь"),
      line("client", 4, "почта a@b.kz, ИИН 900101300811"),
      line("operator", 6, "Сәлеметсіз бе, нөміріңіз 8 747 555 12 34 ме?"),
    ]);
    expect(lines.map((l) => l.text)).toEqual([
      "восемь семь ноль один",
      "два три четыре пять шесть семь",
      "почта [EMAIL a***@***.kz], ИИН [IIN/BIN]",
      "Сәлеметсіз бе, нөміріңіз [PHONE +7 *** *** ** 34] ме?",
    ]);
    expect(found).toEqual([
      { kind: "phone", count: 1 },
      { kind: "iin_bin", count: 1 },
      { kind: "email", count: 1 },
    ]);
  });

  it("keeps extra fields and returns unchanged lines as they were", () => {
    const input = [{ ...line("client", 0, "hello"), id: 7 }];
    const { lines, found } = maskDialogue(input);
    expect(lines[0]).toBe(input[0]);
    expect(found).toEqual([]);
  });

  it("is idempotent", () => {
    const input = [
      line("client", 0, "eight seven oh one five five five"),
      line("client", 2, "one two three four and card 4111 1111"),
      line("client", 4, "1111 1111"),
    ];
    const once = maskDialogue(input);
    expect(once.lines.map((l) => l.text)).toEqual([
      "[PHONE +7 *** *** ** 34]",
      "and card [CARD ****1111]",
      "",
    ]);
    expect(maskDialogue(once.lines)).toEqual({ lines: once.lines, found: [] });
  });
});
