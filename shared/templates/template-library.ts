import type { TemplateQuestion } from "../domain/templates.ts";

/**
 * Built-in templates an owner can copy into the account (issue 5, item 3): eight topics in Russian,
 * Kazakh and English. Topics that keywords can judge use the offline `rules` provider, so they work
 * with no key: every question is a boolean with phrases per speaker (matched case-insensitively on
 * word boundaries, see rules-analyzer.ts), listing the usual inflected forms because the match is
 * literal. Sentiment and summary need a language model (`llm`): scores on a 1–5 scale, choices and
 * free text; their options are written in the template's language, so answers come back in it.
 */
export const libraryLanguages = ["ru", "kk", "en"] as const;
export type LibraryLanguage = (typeof libraryLanguages)[number];
export const libraryTopics = [
  "greeting",
  "needs-discovery",
  "offer",
  "objection-handling",
  "next-step",
  "politeness",
  "customer-sentiment",
  "summary",
] as const;
export type LibraryTopic = (typeof libraryTopics)[number];
/** `rules` runs offline; `llm` is any language-model provider, chosen when the template is copied. */
export type LibraryProvider = "rules" | "llm";

export interface LibraryTemplate {
  /** `<topic>-<language>`, stable: clients copy by it. */
  id: string;
  language: LibraryLanguage;
  topic: LibraryTopic;
  name: string;
  description: string;
  provider: LibraryProvider;
  questions: TemplateQuestion[];
}

type Speaker = "operator" | "client" | "any";

const said = (key: string, text: string, speaker: Speaker, any: string[]): TemplateQuestion => ({
  key,
  text,
  type: "boolean",
  keywords: { speaker, any },
});
const yesNo = (key: string, text: string): TemplateQuestion => ({ key, text, type: "boolean" });
const score = (key: string, text: string): TemplateQuestion => ({
  key,
  text,
  type: "score",
  scale: { min: 1, max: 5 },
});
const choice = (key: string, text: string, options: string[]): TemplateQuestion => ({
  key,
  text,
  type: "choice",
  options,
});
const freeText = (key: string, text: string): TemplateQuestion => ({ key, text, type: "text" });

type Entry = Omit<LibraryTemplate, "id" | "language">;

const russian: Entry[] = [
  {
    topic: "greeting",
    provider: "rules",
    name: "Приветствие и представление",
    description:
      "Поздоровался ли оператор, представился ли сам и назвал ли компанию, спросил ли имя клиента и предложил ли помощь. Работает офлайн по ключевым фразам; добавьте название своей компании в фразы вопроса «company_named».",
    questions: [
      said("greeted", "Оператор поздоровался?", "operator", [
        "здравствуйте",
        "добрый день",
        "доброе утро",
        "добрый вечер",
        "приветствую",
        "приветствуем",
      ]),
      said("introduced_self", "Оператор представился (назвал своё имя)?", "operator", [
        "меня зовут",
        "моё имя",
        "мое имя",
        "с вами говорит",
        "вас приветствует",
        "на связи",
      ]),
      said("company_named", "Оператор назвал компанию?", "operator", [
        "компания",
        "компании",
        "компанию",
        "представляю компанию",
        "звоню из",
        "звоню от",
      ]),
      said("asked_client_name", "Оператор спросил, как обращаться к клиенту?", "operator", [
        "как к вам обращаться",
        "как я могу к вам обращаться",
        "как вас зовут",
        "как ваше имя",
        "подскажите ваше имя",
        "представьтесь пожалуйста",
      ]),
      said("offered_help", "Оператор предложил помощь?", "operator", [
        "чем могу помочь",
        "чем я могу помочь",
        "чем я могу вам помочь",
        "чем могу быть полезен",
        "чем могу быть полезна",
        "слушаю вас",
      ]),
    ],
  },
  {
    topic: "needs-discovery",
    provider: "rules",
    name: "Выявление потребностей",
    description:
      "Задавал ли оператор открытые вопросы о задаче, бюджете и сроках, уточнил ли потребность своими словами, и назвал ли её сам клиент. Работает офлайн по ключевым фразам.",
    questions: [
      said("open_questions", "Оператор задавал открытые вопросы о задаче клиента?", "operator", [
        "расскажите",
        "расскажите пожалуйста",
        "что для вас важно",
        "для каких целей",
        "с какой целью",
        "какая у вас задача",
        "какие у вас требования",
        "как вы сейчас",
      ]),
      said("asked_budget", "Оператор спросил о бюджете или объёме?", "operator", [
        "бюджет",
        "бюджете",
        "на какую сумму",
        "в каком объёме",
        "в каком объеме",
        "какой объём",
        "какой объем",
        "сколько вам нужно",
      ]),
      said("asked_timing", "Оператор спросил о сроках?", "operator", [
        "в какие сроки",
        "к какому сроку",
        "когда планируете",
        "когда вам нужно",
        "как срочно",
        "когда вам удобно",
      ]),
      said("clarified_need", "Оператор уточнил и пересказал потребность клиента?", "operator", [
        "правильно ли я понимаю",
        "правильно я понимаю",
        "если я правильно понял",
        "если я правильно поняла",
        "то есть вам нужно",
        "уточню",
        "уточните пожалуйста",
      ]),
      said("client_stated_need", "Клиент назвал свою потребность?", "client", [
        "мне нужно",
        "нам нужно",
        "мне нужен",
        "нам нужен",
        "мне нужна",
        "нам нужна",
        "хочу",
        "хотим",
        "хотел бы",
        "хотела бы",
        "интересует",
        "ищем",
      ]),
    ],
  },
  {
    topic: "offer",
    provider: "rules",
    name: "Презентация предложения",
    description:
      "Сделал ли оператор конкретное предложение, объяснил ли выгоду для клиента, назвал ли цену и акции, и проявил ли клиент интерес. Работает офлайн по ключевым фразам.",
    questions: [
      said("offer_presented", "Оператор предложил конкретный продукт или услугу?", "operator", [
        "предлагаем",
        "предлагаю",
        "могу предложить",
        "можем предложить",
        "рекомендую",
        "советую",
        "у нас есть",
      ]),
      said("benefits_explained", "Оператор объяснил выгоду предложения для клиента?", "operator", [
        "вы получите",
        "для вас это",
        "это позволит",
        "это поможет",
        "вы сэкономите",
        "выгода",
        "выгодно",
        "преимущество",
      ]),
      said("price_named", "Оператор назвал цену?", "operator", [
        "стоимость",
        "будет стоить",
        "цена",
        "по цене",
        "тенге",
        "рублей",
        "в месяц",
      ]),
      said("promo_mentioned", "Оператор рассказал об акции, скидке или рассрочке?", "operator", [
        "акция",
        "акции",
        "скидка",
        "скидку",
        "скидкой",
        "бонус",
        "специальное предложение",
        "рассрочка",
        "рассрочку",
      ]),
      said("client_interested", "Клиент проявил интерес к предложению?", "client", [
        "интересно",
        "звучит хорошо",
        "подходит",
        "устраивает",
        "беру",
        "оформляйте",
        "давайте оформим",
      ]),
    ],
  },
  {
    topic: "objection-handling",
    provider: "rules",
    name: "Работа с возражениями",
    description:
      "Возражал ли клиент (дорого, подумаю, не нужно), признал ли оператор его позицию, выяснил ли причину и привёл ли аргументы, не споря с клиентом. Работает офлайн по ключевым фразам.",
    questions: [
      said("client_objected", "Клиент высказал возражение?", "client", [
        "дорого",
        "дороговато",
        "подумаю",
        "надо подумать",
        "не интересно",
        "неинтересно",
        "не нужно",
        "нет времени",
        "у нас уже есть",
        "дешевле",
        "не уверен",
        "не уверена",
        "сомневаюсь",
      ]),
      said("objection_acknowledged", "Оператор показал, что понимает позицию клиента?", "operator", [
        "понимаю",
        "понимаю вас",
        "согласен",
        "согласна",
        "вы правы",
        "хороший вопрос",
      ]),
      said("reason_asked", "Оператор выяснил причину возражения?", "operator", [
        "что именно",
        "что вас смущает",
        "что вас останавливает",
        "с чем сравниваете",
        "почему",
      ]),
      said("argument_given", "Оператор привёл аргумент или предложил сравнение?", "operator", [
        "давайте посчитаем",
        "давайте сравним",
        "зато",
        "при этом",
        "в итоге",
        "гарантия",
        "окупается",
        "в отличие от",
      ]),
      said("operator_argued", "Оператор спорил с клиентом? (плохой признак)", "operator", [
        "вы не правы",
        "вы ошибаетесь",
        "вы не понимаете",
        "это не так",
      ]),
    ],
  },
  {
    topic: "next-step",
    provider: "rules",
    name: "Следующий шаг согласован",
    description:
      "Предложил ли оператор конкретный следующий шаг со временем, подтвердил ли его клиент, уточнён ли канал связи и подведены ли итоги. Работает офлайн по ключевым фразам.",
    questions: [
      said("next_step_proposed", "Оператор предложил конкретный следующий шаг?", "operator", [
        "давайте договоримся",
        "предлагаю встретиться",
        "назначим",
        "запишу вас",
        "отправлю вам",
        "вышлю",
        "перезвоню",
        "следующий шаг",
      ]),
      said("time_agreed", "Названо время следующего шага?", "any", [
        "сегодня",
        "завтра",
        "послезавтра",
        "в понедельник",
        "во вторник",
        "в среду",
        "в четверг",
        "в пятницу",
        "в субботу",
        "на следующей неделе",
        "до конца недели",
      ]),
      said("client_confirmed", "Клиент подтвердил договорённость?", "client", [
        "договорились",
        "да давайте",
        "согласен",
        "согласна",
        "буду ждать",
        "жду",
        "удобно",
      ]),
      said("contact_confirmed", "Уточнён канал связи (номер, почта, мессенджер)?", "operator", [
        "на этот номер",
        "по этому номеру",
        "на вашу почту",
        "на какую почту",
        "в ватсап",
        "whatsapp",
        "в телеграм",
        "telegram",
      ]),
      said("agreements_summarized", "Оператор подвёл итог договорённостей?", "operator", [
        "итак",
        "подведу итог",
        "подытожим",
        "резюмирую",
        "значит договорились",
        "ещё раз уточню",
        "еще раз уточню",
      ]),
    ],
  },
  {
    topic: "politeness",
    provider: "rules",
    name: "Вежливость и этикет",
    description:
      "Благодарил ли оператор, использовал ли вежливые слова, вежливо ли попрощался и ставил ли на удержание по правилам; не было ли грубости и жалоб на неё. Работает офлайн по ключевым фразам.",
    questions: [
      said("thanked", "Оператор поблагодарил клиента?", "operator", [
        "спасибо",
        "благодарю",
        "благодарим",
        "спасибо за обращение",
        "спасибо за звонок",
      ]),
      said("polite_words", "Оператор использовал вежливые слова?", "operator", [
        "пожалуйста",
        "будьте добры",
        "будьте любезны",
        "извините",
        "прошу прощения",
      ]),
      said("farewell", "Оператор вежливо попрощался?", "operator", [
        "до свидания",
        "всего доброго",
        "всего хорошего",
        "хорошего дня",
        "хорошего вечера",
        "удачного дня",
      ]),
      said(
        "hold_etiquette",
        "Перед ожиданием оператор предупредил клиента или поблагодарил за ожидание?",
        "operator",
        ["оставайтесь на линии", "подождите пожалуйста", "одну минуту", "минутку", "спасибо за ожидание"],
      ),
      said(
        "operator_rude",
        "Оператор допускал грубые или пренебрежительные фразы? (плохой признак)",
        "operator",
        ["не мои проблемы", "это не ко мне", "я же сказал", "я же сказала", "сами виноваты", "не кричите"],
      ),
      said("client_complained", "Клиент жаловался на грубость или просил руководителя?", "client", [
        "грубо",
        "грубите",
        "хамите",
        "хамство",
        "невежливо",
        "позовите руководителя",
        "жалобу",
      ]),
    ],
  },
  {
    topic: "customer-sentiment",
    provider: "llm",
    name: "Настроение клиента",
    description:
      "Для языковой модели: общее настроение клиента, оценка удовлетворённости, как настроение менялось за разговор, раздражение и риск ухода.",
    questions: [
      choice("sentiment", "Каким было общее настроение клиента в разговоре?", [
        "позитивное",
        "нейтральное",
        "негативное",
      ]),
      score("satisfaction", "Насколько клиент доволен разговором (1 — очень недоволен, 5 — очень доволен)?"),
      choice("sentiment_change", "Как изменилось настроение клиента к концу разговора?", [
        "улучшилось",
        "не изменилось",
        "ухудшилось",
      ]),
      yesNo("client_irritated", "Проявлял ли клиент раздражение или недовольство?"),
      yesNo("churn_risk", "Есть ли риск, что клиент уйдёт к конкуренту или откажется от услуг?"),
      freeText("mood_reason", "Что сильнее всего повлияло на настроение клиента? Приведите его слова."),
    ],
  },
  {
    topic: "summary",
    provider: "llm",
    name: "Итоги звонка",
    description:
      "Для языковой модели: краткое содержание, причина обращения, результат, договорённости, общая оценка работы оператора и нужен ли повторный звонок.",
    questions: [
      freeText("summary", "Кратко, в 2–3 предложениях, изложите суть разговора."),
      choice("call_reason", "Зачем обратился клиент?", [
        "покупка",
        "консультация",
        "жалоба",
        "сервис / поддержка",
        "другое",
      ]),
      choice("outcome", "Чем закончился звонок?", [
        "сделка / заказ",
        "согласован следующий шаг",
        "отказ",
        "без результата",
      ]),
      freeText("agreements", "Какие договорённости достигнуты и кто что должен сделать?"),
      score("operator_quality", "Оцените работу оператора в целом (1 — очень плохо, 5 — отлично)."),
      yesNo("follow_up_needed", "Нужно ли перезвонить клиенту?"),
    ],
  },
];

const kazakh: Entry[] = [
  {
    topic: "greeting",
    provider: "rules",
    name: "Сәлемдесу және таныстыру",
    description:
      "Оператор сәлемдесті ме, өзін және компанияны таныстырды ма, клиенттің атын сұрады ма, көмек ұсынды ма. Кілт сөздер бойынша офлайн тексеріледі; «company_named» сұрағына компанияңыздың атауын қосыңыз.",
    questions: [
      said("greeted", "Оператор сәлемдесті ме?", "operator", [
        "сәлеметсіз бе",
        "сәлеметсізбе",
        "салеметсиз бе",
        "қайырлы күн",
        "қайырлы таң",
        "қайырлы кеш",
        "армысыз",
        "сәлем",
      ]),
      said("introduced_self", "Оператор өзін таныстырды ма (атын айтты ма)?", "operator", [
        "менің атым",
        "менің есімім",
        "атым",
        "есімім",
        "сөйлесіп тұрмын",
        "сөйлесіп тұр",
      ]),
      said("company_named", "Оператор компанияның атауын айтты ма?", "operator", [
        "компания",
        "компаниясы",
        "компаниясынан",
        "компаниясының",
        "компаниясына",
      ]),
      said("asked_client_name", "Оператор клиенттің атын сұрады ма?", "operator", [
        "сізге қалай жүгінсем болады",
        "сізге қалай жүгінуге болады",
        "атыңыз кім",
        "есіміңіз кім",
        "атыңызды айтыңызшы",
        "есіміңізді айтыңызшы",
      ]),
      said("offered_help", "Оператор көмек ұсынды ма?", "operator", [
        "қалай көмектесе аламын",
        "сізге қалай көмектесе аламын",
        "қандай көмек керек",
        "не көмек керек",
        "тыңдап тұрмын",
      ]),
    ],
  },
  {
    topic: "needs-discovery",
    provider: "rules",
    name: "Қажеттілікті анықтау",
    description:
      "Оператор клиенттің міндеті, бюджеті және мерзімдері туралы ашық сұрақтар қойды ма, қажеттілікті өз сөзімен нақтылады ма, клиент өзі не қажет екенін айтты ма. Кілт сөздер бойынша офлайн тексеріледі.",
    questions: [
      said("open_questions", "Оператор клиенттің міндеті туралы ашық сұрақтар қойды ма?", "operator", [
        "айтып беріңізші",
        "айтыңызшы",
        "сізге не маңызды",
        "қандай мақсатта",
        "не үшін қажет",
        "қандай талаптар",
      ]),
      said("asked_budget", "Оператор бюджет немесе көлем туралы сұрады ма?", "operator", [
        "бюджет",
        "бюджетіңіз",
        "қанша сомаға",
        "қандай көлемде",
        "қанша көлемде",
        "қанша керек",
      ]),
      said("asked_timing", "Оператор мерзімдер туралы сұрады ма?", "operator", [
        "қай мерзімге",
        "қандай мерзімде",
        "қашанға дейін",
        "қашан керек",
        "қай уақытта",
      ]),
      said("clarified_need", "Оператор клиенттің қажеттілігін нақтылап, қайталап айтты ма?", "operator", [
        "дұрыс түсіндім бе",
        "дұрыс түсінсем",
        "яғни сізге",
        "нақтылап алайын",
        "нақтылайын",
      ]),
      said("client_stated_need", "Клиент өз қажеттілігін айтты ма?", "client", [
        "керек",
        "қажет",
        "алғым келеді",
        "алғымыз келеді",
        "қызықтырады",
        "іздеп жүрміз",
        "іздеп жүрмін",
      ]),
    ],
  },
  {
    topic: "offer",
    provider: "rules",
    name: "Ұсынысты таныстыру",
    description:
      "Оператор нақты ұсыныс жасады ма, оның клиентке пайдасын түсіндірді ме, бағасын және акцияларды айтты ма, клиент қызығушылық танытты ма. Кілт сөздер бойынша офлайн тексеріледі.",
    questions: [
      said("offer_presented", "Оператор нақты өнімді немесе қызметті ұсынды ма?", "operator", [
        "ұсынамыз",
        "ұсынамын",
        "ұсына аламын",
        "ұсына аламыз",
        "ұсынар едім",
        "кеңес беремін",
        "бізде бар",
      ]),
      said("benefits_explained", "Оператор ұсыныстың клиентке пайдасын түсіндірді ме?", "operator", [
        "сізге тиімді",
        "тиімді",
        "пайдасы",
        "артықшылығы",
        "үнемдейсіз",
        "сіз аласыз",
      ]),
      said("price_named", "Оператор бағасын айтты ма?", "operator", ["бағасы", "құны", "теңге", "айына"]),
      said("promo_mentioned", "Оператор акция, жеңілдік немесе бөліп төлеу туралы айтты ма?", "operator", [
        "акция",
        "акциясы",
        "жеңілдік",
        "жеңілдігі",
        "бонус",
        "арнайы ұсыныс",
        "бөліп төлеу",
      ]),
      said("client_interested", "Клиент ұсынысқа қызығушылық танытты ма?", "client", [
        "қызық",
        "қызықты",
        "ұнайды",
        "ұнады",
        "келісемін",
        "алайын",
        "рәсімдеңіз",
      ]),
    ],
  },
  {
    topic: "objection-handling",
    provider: "rules",
    name: "Қарсылықтармен жұмыс",
    description:
      "Клиент қарсылық білдірді ме (қымбат, ойланамын, қажет емес), оператор оның пікірін түсінетінін көрсетті ме, себебін анықтады ма және клиентпен дауласпай дәлел келтірді ме. Кілт сөздер бойынша офлайн тексеріледі.",
    questions: [
      said("client_objected", "Клиент қарсылық білдірді ме?", "client", [
        "қымбат",
        "қымбатқа",
        "ойланамын",
        "ойланып көрейін",
        "ойлануым керек",
        "қажет емес",
        "керек емес",
        "қызық емес",
        "уақытым жоқ",
        "бізде бар",
        "арзанырақ",
        "күмәнданамын",
        "сенімді емеспін",
      ]),
      said("objection_acknowledged", "Оператор клиенттің пікірін түсінетінін білдірді ме?", "operator", [
        "түсінемін",
        "сізді түсінемін",
        "түсінікті",
        "келісемін",
        "дұрыс айтасыз",
        "орынды сұрақ",
      ]),
      said("reason_asked", "Оператор қарсылықтың себебін сұрады ма?", "operator", [
        "неге",
        "не мазалайды",
        "не кедергі",
        "нақты не",
        "немен салыстырып",
      ]),
      said("argument_given", "Оператор дәлел келтірді ме немесе салыстыру ұсынды ма?", "operator", [
        "есептеп көрейік",
        "салыстырайық",
        "салыстырып көрейік",
        "кепілдік",
        "соның арқасында",
        "нәтижесінде",
        "өзін ақтайды",
        "айырмашылығы",
      ]),
      said("operator_argued", "Оператор клиентпен дауласты ма? (жағымсыз белгі)", "operator", [
        "сіз қателесесіз",
        "сіз түсінбейсіз",
        "олай емес",
        "дұрыс емес",
      ]),
    ],
  },
  {
    topic: "next-step",
    provider: "rules",
    name: "Келесі қадам келісілді",
    description:
      "Оператор уақыты белгіленген нақты келесі қадамды ұсынды ма, клиент оны растады ма, байланыс арнасы нақтыланды ма және уағдаластықтар қорытындыланды ма. Кілт сөздер бойынша офлайн тексеріледі.",
    questions: [
      said("next_step_proposed", "Оператор нақты келесі қадамды ұсынды ма?", "operator", [
        "келісейік",
        "кездесейік",
        "кездесу белгілейік",
        "жіберемін",
        "жолдаймын",
        "қайта хабарласамын",
        "қайта қоңырау шаламын",
        "келесі қадам",
      ]),
      said("time_agreed", "Келесі қадамның уақыты аталды ма?", "any", [
        "бүгін",
        "ертең",
        "бүрсігүні",
        "дүйсенбі",
        "сейсенбі",
        "сәрсенбі",
        "бейсенбі",
        "жұма",
        "сенбі",
        "келесі аптада",
        "апта соңына дейін",
      ]),
      said("client_confirmed", "Клиент келісімін растады ма?", "client", [
        "келістік",
        "келісемін",
        "күтемін",
        "болсын",
        "ыңғайлы",
      ]),
      said("contact_confirmed", "Байланыс арнасы нақтыланды ма (нөмір, пошта, мессенджер)?", "operator", [
        "осы нөмірге",
        "қай нөмірге",
        "поштаңызға",
        "қай поштаға",
        "ватсапқа",
        "whatsapp",
        "телеграмға",
        "telegram",
      ]),
      said("agreements_summarized", "Оператор уағдаластықтарды қорытындылады ма?", "operator", [
        "сонымен",
        "қорытындылайық",
        "қорытындылай келе",
        "тағы бір рет нақтылайын",
        "келістік қой",
      ]),
    ],
  },
  {
    topic: "politeness",
    provider: "rules",
    name: "Сыпайылық",
    description:
      "Оператор алғыс айтты ма, сыпайы сөздерді қолданды ма, сыпайы қоштасты ма, күттіру ережесін сақтады ма; дөрекілік және оған шағым болды ма. Кілт сөздер бойынша офлайн тексеріледі.",
    questions: [
      said("thanked", "Оператор клиентке алғыс айтты ма?", "operator", [
        "рахмет",
        "рақмет",
        "көп рахмет",
        "алғыс айтамын",
        "хабарласқаныңызға рахмет",
      ]),
      said("polite_words", "Оператор сыпайы сөздерді қолданды ма (өтінемін, кешіріңіз)?", "operator", [
        "өтінемін",
        "кешіріңіз",
        "ғафу етіңіз",
        "мүмкін болса",
      ]),
      said("farewell", "Оператор сыпайы қоштасты ма?", "operator", [
        "сау болыңыз",
        "көріскенше",
        "қош болыңыз",
        "жақсы күн тілеймін",
        "күніңіз сәтті өтсін",
      ]),
      said(
        "hold_etiquette",
        "Күттіру алдында оператор ескертті ме немесе күткені үшін алғыс айтты ма?",
        "operator",
        ["күте тұрыңыз", "сәл күте тұрыңыз", "бір минут", "желіде қалыңыз", "күткеніңізге рахмет"],
      ),
      said(
        "operator_rude",
        "Оператор дөрекі немесе менсінбейтін сөздер айтты ма? (жағымсыз белгі)",
        "operator",
        ["менің проблемам емес", "мен айттым ғой", "айқайламаңыз", "өзіңіз кінәлісіз"],
      ),
      said("client_complained", "Клиент дөрекілікке шағымданды ма немесе басшыны сұрады ма?", "client", [
        "дөрекі",
        "дөрекілік",
        "сыпайы емес",
        "басшыңызды шақырыңыз",
        "шағым",
        "шағым жазамын",
      ]),
    ],
  },
  {
    topic: "customer-sentiment",
    provider: "llm",
    name: "Клиенттің көңіл-күйі",
    description:
      "Тіл моделіне арналған: клиенттің жалпы көңіл-күйі, қанағаттану бағасы, сөйлесу барысындағы өзгерісі, наразылығы және кетіп қалу қаупі.",
    questions: [
      choice("sentiment", "Сөйлесу барысында клиенттің жалпы көңіл-күйі қандай болды?", [
        "оң",
        "бейтарап",
        "теріс",
      ]),
      score("satisfaction", "Клиент сөйлесуге қаншалықты риза (1 — мүлдем наразы, 5 — толық риза)?"),
      choice("sentiment_change", "Сөйлесудің соңына қарай клиенттің көңіл-күйі қалай өзгерді?", [
        "жақсарды",
        "өзгерген жоқ",
        "нашарлады",
      ]),
      yesNo("client_irritated", "Клиент ашуланды ма немесе наразылық білдірді ме?"),
      yesNo("churn_risk", "Клиенттің бәсекелеске кетуі немесе қызметтен бас тартуы қаупі бар ма?"),
      freeText(
        "mood_reason",
        "Клиенттің көңіл-күйіне не көбірек әсер етті? Оның сөздерінен үзінді келтіріңіз.",
      ),
    ],
  },
  {
    topic: "summary",
    provider: "llm",
    name: "Қоңыраудың қорытындысы",
    description:
      "Тіл моделіне арналған: қысқаша мазмұны, хабарласу себебі, нәтижесі, уағдаластықтар, оператор жұмысының жалпы бағасы және қайта хабарласу қажеттілігі.",
    questions: [
      freeText("summary", "Сөйлесудің мәнін 2–3 сөйлеммен қысқаша баяндаңыз."),
      choice("call_reason", "Клиент не үшін хабарласты?", [
        "сатып алу",
        "кеңес алу",
        "шағым",
        "қызмет көрсету / қолдау",
        "басқа",
      ]),
      choice("outcome", "Қоңырау немен аяқталды?", [
        "мәміле / тапсырыс",
        "келесі қадам келісілді",
        "бас тарту",
        "нәтижесіз",
      ]),
      freeText("agreements", "Қандай уағдаластыққа қол жеткізілді және кім не істеуі керек?"),
      score("operator_quality", "Оператордың жұмысын жалпы бағалаңыз (1 — өте нашар, 5 — өте жақсы)."),
      yesNo("follow_up_needed", "Клиентке қайта хабарласу керек пе?"),
    ],
  },
];

const english: Entry[] = [
  {
    topic: "greeting",
    provider: "rules",
    name: "Greeting and introduction",
    description:
      "Did the agent greet the caller, introduce themselves and the company, ask the caller's name and offer help. Runs offline on keyword phrases; add your company's name to the phrases of «company_named».",
    questions: [
      said("greeted", "Did the agent greet the caller?", "operator", [
        "hello",
        "hi",
        "good morning",
        "good afternoon",
        "good evening",
        "welcome",
        "thank you for calling",
      ]),
      said("introduced_self", "Did the agent introduce themselves by name?", "operator", [
        "my name is",
        "my name's",
        "you're speaking with",
        "you are speaking with",
        "i'm your",
        "i am your",
      ]),
      said("company_named", "Did the agent name the company?", "operator", [
        "company",
        "calling from",
        "on behalf of",
        "welcome to",
      ]),
      said("asked_client_name", "Did the agent ask the caller's name?", "operator", [
        "may i have your name",
        "can i have your name",
        "what is your name",
        "what's your name",
        "who am i speaking with",
        "who am i speaking to",
      ]),
      said("offered_help", "Did the agent offer help?", "operator", [
        "how can i help",
        "how may i help",
        "how can i assist",
        "how may i assist",
        "what can i do for you",
      ]),
    ],
  },
  {
    topic: "needs-discovery",
    provider: "rules",
    name: "Needs discovery",
    description:
      "Did the agent ask open questions about the task, budget and timing, play the need back in their own words, and did the caller state it. Runs offline on keyword phrases.",
    questions: [
      said("open_questions", "Did the agent ask open questions about the caller's task?", "operator", [
        "tell me more",
        "could you tell me",
        "what are you looking for",
        "what is important",
        "what matters most",
        "how do you currently",
        "what kind of",
      ]),
      said("asked_budget", "Did the agent ask about budget or volume?", "operator", [
        "budget",
        "price range",
        "how much are you planning",
        "how many",
        "what volume",
      ]),
      said("asked_timing", "Did the agent ask about timing?", "operator", [
        "when do you need",
        "by when",
        "what timeline",
        "timeframe",
        "how soon",
        "deadline",
      ]),
      said("clarified_need", "Did the agent clarify and play back the caller's need?", "operator", [
        "if i understand correctly",
        "if i understood correctly",
        "so you need",
        "let me make sure",
        "just to confirm",
        "to clarify",
      ]),
      said("client_stated_need", "Did the caller state what they need?", "client", [
        "i need",
        "we need",
        "i want",
        "we want",
        "looking for",
        "interested in",
        "i would like",
        "we would like",
        "i'd like",
        "we'd like",
      ]),
    ],
  },
  {
    topic: "offer",
    provider: "rules",
    name: "Offer presentation",
    description:
      "Did the agent make a specific offer, explain the benefit for the caller, name the price and any promotion, and did the caller show interest. Runs offline on keyword phrases.",
    questions: [
      said("offer_presented", "Did the agent offer a specific product or service?", "operator", [
        "we offer",
        "i can offer",
        "we can offer",
        "i recommend",
        "i would recommend",
        "i'd recommend",
        "we have a",
      ]),
      said("benefits_explained", "Did the agent explain the benefit for the caller?", "operator", [
        "you will get",
        "you'll get",
        "this will help",
        "this allows",
        "you save",
        "you will save",
        "benefit",
        "advantage",
      ]),
      said("price_named", "Did the agent name the price?", "operator", [
        "costs",
        "the cost",
        "price",
        "per month",
        "tenge",
        "dollars",
      ]),
      said("promo_mentioned", "Did the agent mention a promotion, discount or instalments?", "operator", [
        "discount",
        "promotion",
        "special offer",
        "bonus",
        "installments",
        "instalments",
        "free trial",
      ]),
      said("client_interested", "Did the caller show interest in the offer?", "client", [
        "sounds good",
        "interesting",
        "that works",
        "let's do it",
        "i'll take",
        "sign me up",
        "i like it",
      ]),
    ],
  },
  {
    topic: "objection-handling",
    provider: "rules",
    name: "Objection handling",
    description:
      "Did the caller object (too expensive, need to think, not needed), did the agent acknowledge it, find the reason and answer with arguments without arguing. Runs offline on keyword phrases.",
    questions: [
      said("client_objected", "Did the caller raise an objection?", "client", [
        "too expensive",
        "expensive",
        "think about it",
        "not interested",
        "don't need",
        "no time",
        "we already have",
        "cheaper",
        "not sure",
      ]),
      said("objection_acknowledged", "Did the agent acknowledge the caller's point?", "operator", [
        "i understand",
        "i see",
        "that makes sense",
        "fair point",
        "good question",
        "you're right",
        "i hear you",
      ]),
      said("reason_asked", "Did the agent ask for the reason behind the objection?", "operator", [
        "what exactly",
        "what concerns you",
        "what is stopping you",
        "what's stopping you",
        "compared to what",
        "why",
      ]),
      said("argument_given", "Did the agent give an argument or offer a comparison?", "operator", [
        "let's compare",
        "let's calculate",
        "in the long run",
        "guarantee",
        "pays for itself",
        "unlike",
        "however",
      ]),
      said("operator_argued", "Did the agent argue with the caller? (a bad sign)", "operator", [
        "you're wrong",
        "you are wrong",
        "that's not true",
        "you don't understand",
      ]),
    ],
  },
  {
    topic: "next-step",
    provider: "rules",
    name: "Next step agreed",
    description:
      "Did the agent propose a concrete next step with a time, did the caller confirm it, was the contact channel confirmed and were the agreements summed up. Runs offline on keyword phrases.",
    questions: [
      said("next_step_proposed", "Did the agent propose a concrete next step?", "operator", [
        "let's schedule",
        "let's set up",
        "i will send",
        "i'll send",
        "i will call you back",
        "i'll call you back",
        "next step",
        "book a meeting",
        "book a demo",
      ]),
      said("time_agreed", "Was a time for the next step named?", "any", [
        "today",
        "tomorrow",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "next week",
        "end of the week",
      ]),
      said("client_confirmed", "Did the caller confirm the agreement?", "client", [
        "deal",
        "agreed",
        "sounds good",
        "works for me",
        "that works",
        "see you then",
        "looking forward",
      ]),
      said(
        "contact_confirmed",
        "Was the contact channel confirmed (number, e-mail, messenger)?",
        "operator",
        ["this number", "your email", "which email", "whatsapp", "telegram", "best way to reach"],
      ),
      said("agreements_summarized", "Did the agent sum up the agreements?", "operator", [
        "to summarize",
        "to sum up",
        "so we agreed",
        "let me recap",
        "just to recap",
      ]),
    ],
  },
  {
    topic: "politeness",
    provider: "rules",
    name: "Politeness",
    description:
      "Did the agent thank the caller, use polite words, say goodbye politely and follow hold etiquette; was there rudeness or a complaint about it. Runs offline on keyword phrases.",
    questions: [
      said("thanked", "Did the agent thank the caller?", "operator", [
        "thank you",
        "thanks",
        "appreciate",
        "thank you for calling",
      ]),
      said("polite_words", "Did the agent use polite words (please, sorry)?", "operator", [
        "please",
        "sorry",
        "excuse me",
        "apologize",
        "apologise",
        "would you mind",
      ]),
      said("farewell", "Did the agent say goodbye politely?", "operator", [
        "goodbye",
        "good bye",
        "bye",
        "have a nice day",
        "have a great day",
        "take care",
      ]),
      said(
        "hold_etiquette",
        "Before a hold, did the agent ask or thank the caller for waiting?",
        "operator",
        ["please hold", "one moment", "bear with me", "thank you for waiting", "thanks for holding"],
      ),
      said("operator_rude", "Did the agent say anything rude or dismissive? (a bad sign)", "operator", [
        "not my problem",
        "i already told you",
        "calm down",
        "your fault",
      ]),
      said("client_complained", "Did the caller complain about rudeness or ask for a manager?", "client", [
        "rude",
        "unprofessional",
        "speak to your manager",
        "speak to a manager",
        "supervisor",
        "complaint",
      ]),
    ],
  },
  {
    topic: "customer-sentiment",
    provider: "llm",
    name: "Customer sentiment",
    description:
      "For a language model: the caller's overall mood, a satisfaction score, how the mood changed during the call, irritation and churn risk.",
    questions: [
      choice("sentiment", "What was the caller's overall sentiment?", ["positive", "neutral", "negative"]),
      score(
        "satisfaction",
        "How satisfied was the caller with the call (1 = very dissatisfied, 5 = very satisfied)?",
      ),
      choice("sentiment_change", "How did the caller's mood change by the end of the call?", [
        "improved",
        "unchanged",
        "worsened",
      ]),
      yesNo("client_irritated", "Did the caller show irritation or dissatisfaction?"),
      yesNo("churn_risk", "Is there a risk the caller leaves for a competitor or cancels the service?"),
      freeText("mood_reason", "What affected the caller's mood most? Quote their words."),
    ],
  },
  {
    topic: "summary",
    provider: "llm",
    name: "Call summary",
    description:
      "For a language model: a short summary, the reason for the call, its outcome, the agreements, an overall score for the agent and whether a follow-up call is needed.",
    questions: [
      freeText("summary", "Summarise the call in 2–3 sentences."),
      choice("call_reason", "Why did the caller get in touch?", [
        "purchase",
        "consultation",
        "complaint",
        "service / support",
        "other",
      ]),
      choice("outcome", "How did the call end?", [
        "deal / order",
        "next step agreed",
        "refusal",
        "no result",
      ]),
      freeText("agreements", "What was agreed, and who has to do what?"),
      score("operator_quality", "Rate the agent's work overall (1 = very poor, 5 = excellent)."),
      yesNo("follow_up_needed", "Does the caller need to be called back?"),
    ],
  },
];

const withLanguage = (language: LibraryLanguage, entries: Entry[]): LibraryTemplate[] =>
  entries.map((e) => ({ id: `${e.topic}-${language}`, language, ...e }));

export const libraryTemplates: readonly LibraryTemplate[] = [
  ...withLanguage("ru", russian),
  ...withLanguage("kk", kazakh),
  ...withLanguage("en", english),
];

export function findLibraryTemplate(id: string): LibraryTemplate | undefined {
  return libraryTemplates.find((t) => t.id === id);
}
