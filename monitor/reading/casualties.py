"""Casualty figures as the text states them, coded the ACLED way (LABELS.md, "Extraction fields").

A figure is a number (digits or words, English or Russian) next to a casualty word: "killed 5",
"3 soldiers were wounded", "погибли 2 человека", "left 3 fighters dead", "the death toll rose to 14",
or one person named as killed or hurt ("a soldier was killed", "ранен военнослужащий"). Then:
  * "at least 49", "more than 49", "не менее 49" -> 49; "10 to 15" -> 10 (the lower bound);
  * vague counts: several/a few/несколько -> 3, dozens/десятки -> 12, scores -> 20, hundreds/сотни -> 100,
    marked vague, and used only when the text gives no exact figure;
  * "no casualties", "neither fatalities nor injuries", "без жертв" -> 0;
  * lists are separate losses and are added ("12 Sudanese, 4 Chadians died" -> 16; 49 Armenian +
    50 Azerbaijani soldiers -> 99), but a figure that contains the others ("5 killed, including 2
    children") or repeats them (title and body) is counted once;
  * figures in sentences about a whole war or a running total ("since 2014", "in total") are left out
    (a sentence that only turns to one in a later clause, or compares with an earlier event -
    "the deadliest since 2019, when ..." - keeps what comes before), and so are the tolls of another
    event the text recalls ("in response to a raid that killed 6", "a day after 5 were killed"), a
    threat ("threatened to kill 5") and a side's claim the text calls unconfirmed; a loss marked
    "also" is added to the others; "20 casualties, 6 of them dead" is 6 killed and 14 wounded;
  * an unstated toll ("a number of fighters", "many", "fatalities were reported") is no figure (null);
  * the counted words need not be known nouns where the grammar shows a count of people ("2 members of
    a village militia were killed", "killed a herder", "двое горняков ранены"), but property, time and
    munitions are not people ("пострадали 5 домов").
The military/civilian split follows the noun counted ("soldiers" / "civilians"); "people" is neither;
a list of both ("two soldiers and three civilians") keeps each side's part.

Speed: the case-insensitive patterns are searched only where a literal pre-scan of the lower-cased
sentence finds a word they need, and the costliest are tried only where a case-sensitive twin matches
in it (case_gate); either way the original pattern decides, so the figures are the same.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from monitor.models import Casualties
from monitor.reading import case_gate, figure_choice
from monitor.reading.case_gate import gate as _gate
from monitor.reading.case_gate import may_match
from monitor.reading.choice import Model
from monitor.reading.figure_choice import Figure
from monitor.reading.rules import trie_pattern

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a dozen": 12, "a hundred": 100,
    "один": 1, "одна": 1, "одного": 1, "одну": 1, "одной": 1, "два": 2, "две": 2, "двух": 2, "двое": 2, "три": 3,
    "трех": 3, "трёх": 3, "трое": 3, "четыре": 4, "четырех": 4, "четырёх": 4, "четверо": 4, "пять": 5, "пяти": 5,
    "пятеро": 5, "шесть": 6, "шести": 6, "шестеро": 6, "семь": 7, "семи": 7, "семеро": 7, "восемь": 8, "восьми": 8,
    "девять": 9, "девяти": 9, "десять": 10, "десяти": 10, "двенадцать": 12, "пятнадцать": 15, "двадцать": 20,
    "двадцати": 20, "тридцать": 30, "тридцати": 30, "сорок": 40, "пятьдесят": 50, "сто": 100,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
         "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "один": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7,
          "восемь": 8, "девять": 9}
# "twenty seven", "twenty-seven", "двадцать семь": compound numbers, with the script of each part matching.
_NUMBERS.update({f"{t}{sep}{u}": tv + uv for t, tv in _TENS.items() for u, uv in _UNITS.items()
                 for sep in (" ", "-") if t.isascii() == u.isascii()})
_VAGUE = {
    "several": 3, "a few": 3, "few": 3, "dozens": 12, "dozens of": 12, "scores": 20,
    "scores of": 20, "hundreds": 100, "hundreds of": 100, "несколько": 3, "нескольких": 3,
    "десятки": 12, "десятков": 12, "сотни": 100, "сотен": 100,
}


# "another" is one more person ("killing one rebel and wounding another"), unless a number follows it.
_NUM = r"(?:\d{1,3}(?:[ ,]\d{3})+|\d+|another(?!\s+\w*\d)|" + trie_pattern([*_NUMBERS, *_VAGUE]) + r")"
_QUANTIFIERS = ["at least", "more than", "over", "up to", "nearly", "almost", "about", "around", "some", "estimated",
                "no fewer than", "as many as", "не менее", "не меньше", "более", "больше", "около",
                "по меньшей мере", "как минимум", "минимум", "порядка", "свыше"]
_QUANT = rf"(?:{trie_pattern(_QUANTIFIERS)}\s+)?"
# Whole month names or their abbreviations only: "14 separatists", "8 marines" are not dates.
_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
           r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|январ\w*|феврал\w*|"
           r"март\w*|апрел\w*|ма[яй]|июн\w*|июл\w*|август\w*|сентябр\w*|октябр\w*|ноябр\w*|декабр\w*")
# A figure, not a date ("died 17 January") or an age ("26-year-old").
_RANGE = rf"(?P<n>{_NUM})(?:\s*(?:-|–|to|or|до|или)\s*{_NUM})?(?!\s+(?:{_MONTHS})\b|-?(?:year|летн))"
_MIL = (r"soldiers?|servicem[ae]n|service members?|troops|fighters?|militants?|rebels?|border guards?|officers?|"
        r"military personnel|security personnel|personnel|combatants?|militiam[ae]n|insurgents?|policem[ae]n|"
        r"gunm[ae]n|commanders?|separatists?|jihadists?|"
        r"военнослужащ\w*|военн\w*|бойц\w*|боец|солдат\w*|пограничник\w*|боевик\w*|ополченц\w*|офицер\w*")
_CIV = (r"civilians?|children|child|women|woman|residents?|villagers?|farmers?|shepherds?|passers-by|"
        r"мирн\w* жител\w*|жител\w*|дет\w*|ребен\w*|ребён\w*|женщин\w*|мирн\w*|гражданск\w*")
# People who may be either side: the split is left open for them.
_NEUTRAL = (r"members?|students?|workers?|hostages?|protesters?|demonstrators?|pilgrims?|journalists?|doctors?|"
            r"medics?|paramedics?|nurses?|teachers?|relatives|guards?|attackers?|assailants?|bombers?|prisoners?")
# Counted nouns: soldiers, civilians, people, or a capitalised plural ("Somalis", "Ukrainians").
_NOUN = (rf"(?P<noun>of\s+(?:them|whom)|(?:of\s+(?:its|their|the|them|whom)\s+)?"
         rf"(?:(?!(?:where|which|who|that|when|while)\b)[\w.-]+\s+){{0,2}}?"
         rf"(?:{_MIL}|{_CIV}|{_NEUTRAL}|people|persons?|men|others|человек\w*|(?-i:[A-Z])[\w-]*(?:ans|is|ese|ers|ns)))")
_AUX = (r"(?:(?:were|was|are|is|have|has|had|been|now|known|to|reportedly|reported|confirmed|believed|also|later|"
        r"shot\s+and|shot|found|"
        r"subsequently|allegedly|feared|said|be|left|seriously|critically|badly|lightly|slightly|fatally|mortally|"
        r"тяжело|легко|смертельно|серь[её]зно|очень|[-–—]|"
        r"получил\w*|был\w*|оказал\w*)\s+)*")
_KILL = (r"killed|dead|died|die|deaths|fatalities|lost their lives|slain|perished|"
         r"погиб\w*|убит\w*|погибш\w*|жертв\w*|скончал\w*|умер\w*")
_HURT = (r"wounded|injured|hurt|injuries|wounds|hospitali[sz]ed|in hospital|taken to hospital|госпитализирован\w*|"
         r"ранен\w*|ранения|ранение|раненых|пострадал\w*|пострадавш\w*|травм\w*|контужен\w*")
_PERSON = (r"(?:man|woman|person|boy|girl|child|soldier|civilian|serviceman|servicewoman|resident|teenager|policeman|"
           r"driver|farmer|shepherd|official|commander|chief|leader|officer|journalist|photographer|worker|guard|"
           r"gunman|militant|fighter|rebel|insurgent|militiaman|member|student|teacher|doctor|medic|paramedic|nurse|"
           r"hostage|protester|demonstrator|pilgrim|"
           r"мужчина|женщина|ребенок|ребёнок|военнослужащий|военный|солдат|сержант|рейнджер|мирный житель|"
           r"житель|водитель|подросток|боец|"
           r"пенсионер|пенсионерка|сотрудник|таможенник|командир)")


# A passive clause's subject of any words ("3 members of a village militia were killed", "1 student was
# shot and killed", "9 rebels including their leader were killed"): up to 7 words, none a number,
# a verb of being or a word that opens another clause ("three villages where people were killed").
_COUNT_WORDS = trie_pattern([w for w in (*_NUMBERS, *_VAGUE) if w not in ("a", "an")])
_SUBJECT_WORD = (r"(?!(?:or|were|was|are|is|have|has|had|been|be|being|who|whom|which|that|where|when|after|before|"
                 rf"while|since|as|in|on|at|by|from|with|for|to|during|than|{_COUNT_WORDS})\b"
                 rf"|and\s+(?:an?\b|\d|{_COUNT_WORDS}\b))"
                 r"[^\W\d_][\w'’/.-]*")
_PASSIVE = r"(?:were|was|are|is|have\s+been|has\s+been|had\s+been)\s+"


def _numeric_patterns(verb: str, verb_ing: str) -> tuple[re.Pattern[str], ...]:
    flags = re.IGNORECASE
    return (
        # "5 soldiers were killed", "five dead", "3 civilians wounded", "2 человека погибли"
        # ... with an apposition: "12 others, 4 of them children, were wounded"
        re.compile(rf"(?<!\w){_QUANT}{_RANGE}\s+(?:{_NOUN}(?:,[^,.;:]{{1,60}}?,)?\s+)?{_AUX}(?:{verb})(?!\w)", flags),
        # "killing 5 people", "killed at least 12", "погибли 2 человека", "ранены трое военнослужащих"
        re.compile(rf"(?<!\w)(?:{verb}|{verb_ing})\s+(?:(?:the|a|an|some|another|ещё|еще)\s+)?{_QUANT}{_RANGE}"
                   rf"(?:\s+{_NOUN})?(?!\w)", flags),
        # "left 3 fighters (including ...) dead", "leaving 4 people injured"
        re.compile(rf"(?<!\w)(?:left|leaving|leaves)\s+{_QUANT}{_RANGE}\s+(?:{_NOUN}\s+)?(?:\([^)]*\)\s+)?"
                   rf"(?:{verb})(?!\w)", flags),
    )


Gated = tuple[re.Pattern[str], re.Pattern[str]]  # a cheap test on the lower-cased sentence, and the pattern


def _one_object(active: str) -> Gated:
    """One person as the object, whatever the noun: "a landmine killed a herder in ...", "wounding an
    elderly shepherd", up to the end of the noun phrase (a stop or a preposition)."""
    gate = re.compile(rf"(?:{active})\s+(?:an?|one)\s")
    return gate, re.compile(rf"(?<!\w)(?:{active})\s+(?P<n>an?|one)\s+"
                            rf"(?P<noun>(?:{_SUBJECT_WORD}\s+){{0,2}}?{_SUBJECT_WORD})"
                            r"(?=\s*(?:[,.;:)]|$)|\s+(?:in|on|at|and|near|who|while|during|with|from|after|when|inside|"
                            r"outside|by|as)\b)", re.IGNORECASE)


def _passive(verb: str) -> Gated:
    """"3 members of a village militia were killed" (not a year: "in 2019 fighters were killed"),
    searched only in sentences where a verb of being comes before the casualty verb (the gate): the
    open subject costs more than the other patterns together."""
    gate = re.compile(rf"\b{_PASSIVE}{_AUX}(?:{verb})(?!\w)")
    return gate, re.compile(rf"(?<!\w)(?!(?:19|20)\d\d\b){_QUANT}{_RANGE}\s+"
                            rf"(?P<noun>{_SUBJECT_WORD}(?:\s+{_SUBJECT_WORD}){{0,6}}?)\s+{_PASSIVE}{_AUX}(?:{verb})(?!\w)",
                            re.IGNORECASE)


# Russian nouns counted that are not people: time, distance, munitions, buildings and other property
# ("за 2 дня", "пострадали 5 домов": in Russian buildings "suffer" as people do).
_RU_NOT_PEOPLE = (r"(?:дн[яейи]\w*|сут\w*|недел\w*|месяц\w*|год\w*|лет|час\w*|минут\w*|раз\w*|км|километр\w*|метр\w*|"
                  r"снаряд\w*|ракет\w*|мин[аыу]?|бомб\w*|взрыв\w*|выстрел\w*|обстрел\w*|атак\w*|удар\w*|дрон\w*|"
                  r"беспилотник\w*|дом\w*|здани\w*|школ\w*|сад\w*|больниц\w*|автомобил\w*|машин\w*|транспорт\w*|"
                  r"объект\w*|строени\w*|квартир\w*|сооружени\w*|предприяти\w*|магазин\w*|гараж\w*|лини\w*|лэп|"
                  r"подстанци\w*|газопровод\w*|крыш\w*|окн\w*|окон|храм\w*|церк\w*|склад\w*|техник\w*|единиц\w*|"
                  r"танк\w*|постро\w*|хозяйств\w*|населенн\w*|пункт\w*|сел\w*|поселк\w*|посёлк\w*|город\w*)")
# A number right before such a noun (or an adjective and such a noun) is no toll.
_RU_OBJECT_AFTER = re.compile(rf"\s+(?:[а-яё-]+(?:ых|их|ые|ие)\s+)?{_RU_NOT_PEOPLE}(?![а-яё])", re.IGNORECASE)
_RU_PROPERTY = re.compile(rf"(?:[а-яё-]+(?:ых|их|ые|ие)\s+)?{_RU_NOT_PEOPLE}(?![а-яё])", re.IGNORECASE)


def _ru_property(noun: str) -> bool:
    """Whether a Russian counted noun is property or time, not people: the head noun comes first
    ("двое работников садика" are people) unless an adjective leads ("три жилых дома")."""
    return bool(noun) and not noun.isascii() and bool(_RU_PROPERTY.match(noun))
_RU_COUNT = trie_pattern([w for w in _NUMBERS if not w.isascii()])


def _russian_subject(verb: str) -> Gated:
    """"двое горняков ранены", "трое рабочих погибли": a Russian count and one or two words of any
    people before the verb (not time, munitions or property: "за 2 дня", "5 домов пострадали")."""
    return (re.compile(verb), re.compile(
        rf"(?<!\w)(?P<n>\d{{1,5}}|{_RU_COUNT})\s+(?P<noun>[а-яё-]+(?:\s+[а-яё-]+)?)\s+{_AUX}(?:{verb})(?!\w)",
        re.IGNORECASE))


# Words one of which each single-person pattern needs (its counted person, or "one of the ...").
_SINGLE_GATE = _gate([*_PERSON.removeprefix("(?:").removesuffix(")").split("|"), "one of "])
_RU_PERSON = (r"(?:мужчина|женщина|ребенок|ребёнок|военнослужащий|военный|солдат|сержант|мирный житель|житель|"
              r"водитель|подросток|боец|пенсионер|пенсионерка|сотрудник|таможенник|командир)")


def _singular(verb_en: str, verb_ru: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """One person: "Man wounded by drone", "a soldier was killed", "ранен военнослужащий". Two
    patterns, English and Russian: the Russian one is searched only in sentences with Cyrillic."""
    return (re.compile(
        rf"(?:^|\n|\b(?:a|an|one|the|another)\s+)(?P<noun>(?:[\w.-]+\s+){{0,2}}?{_PERSON})\s+"
        rf"(?:who\s+(?=(?:was|has been|had been)\s))?{_AUX}"
        rf"(?:{verb_en})(?!\w)|\bone of (?:the|its|their)\s+[^.,;]{{0,40}}?\s(?:was|has been)\s+(?:{verb_en})(?!\w)",
        re.IGNORECASE), re.compile(
        rf"\b(?:{verb_ru})\s+(?P<noun2>(?:[\w-]+\s+)?{_PERSON})(?!\w)"
        # Russian has no articles: "водитель ранен", "подросток тяжело ранен".
        rf"|\b(?P<noun3>{_RU_PERSON})\s+{_AUX}(?:{verb_ru})(?!\w)", re.IGNORECASE))


_CYRILLIC = re.compile("[а-яёА-ЯЁ]")


def _who(verb_en: str) -> Gated:
    """One person in a relative clause, however long the description before it: "the popular young
    village teacher who was killed"."""
    return (re.compile(r"\bwho\s+(?:was|has\s+been|had\s+been)\s"),
            re.compile(rf"\b(?P<noun>{_PERSON})\s+who\s+(?:was|has\s+been|had\s+been)\s+{_AUX}(?:{verb_en})(?!\w)",
                       re.IGNORECASE))


# A list member right after a casualty verb is that verb's figure, not part of the next one's list.
_VERB_END = re.compile(rf"(?:{_KILL}|{_HURT}|killing|wounding|injuring)\s+$", re.IGNORECASE)
_KILLED = _numeric_patterns(_KILL, r"killing|kills|kill|claimed the lives of")
# The rarer forms, each behind a word it needs (searched in the lower-cased sentence).
_KILLED_GATED = (
    _passive(_KILL), _one_object(r"killed|killing|kills|kill|shot dead|shot and killed"),
    _russian_subject(r"погибл\w*|убиты|погибш\w*|скончались|умерли"),
    (re.compile(r"toll|число"),
     re.compile(rf"(?:death toll|toll|число (?:погибших|жертв))\w*\s+(?:[\w'’-]+\s+){{0,6}}?(?:to|at|is|of|до|"
                rf"составило)\s+{_QUANT}{_RANGE}(?:\s+{_NOUN})?(?!\w)", re.IGNORECASE)),
    (re.compile(r"(?:death|killing|loss)\w* of"),
     re.compile(rf"(?:death|deaths|killing|loss(?:es)?) of\s+{_QUANT}{_RANGE}(?!\w)(?:\s+{_NOUN})?", re.IGNORECASE)),
    # "the army lost 3 soldiers" (people only: "lost 3 tanks" is no toll)
    (re.compile(r"lost\s"), re.compile(rf"(?<!\w)lost\s+{_QUANT}{_RANGE}\s+{_NOUN}(?!\w)", re.IGNORECASE)),
    # "the bodies of 11 people", "7 bodies were found"
    (re.compile(r"bodies"), re.compile(rf"(?<!\w)bodies of\s+{_QUANT}{_RANGE}(?!\w)(?:\s+{_NOUN})?", re.IGNORECASE)),
    (re.compile(r"bodies"), re.compile(rf"(?<!\w){_QUANT}{_RANGE}\s+bodies(?!\w)", re.IGNORECASE)),
    # "о гибели двух военнослужащих"
    (re.compile(r"гибел"), re.compile(rf"(?<!\w)гибел[иья]\s+{_QUANT}{_RANGE}(?!\w)(?:\s+{_NOUN})?", re.IGNORECASE)),
    # "deaths ranged from 2 to 5": the lower bound
    (re.compile(r"rang|var"),
     re.compile(rf"(?:fatalities|deaths|dead)\s+(?:[\w'’-]+\s+){{0,3}}?(?:range[sd]?|ranging|var(?:y|ies|ied|ying))"
                rf"\s+(?:from|between)\s+{_RANGE}(?!\w)", re.IGNORECASE)))
_INJURED = _numeric_patterns(_HURT, r"wounding|injuring|wounds|injures|wound|injure")
_INJURED_GATED = (
    _passive(_HURT), _one_object(r"wounded|injured|wounding|injuring|wounds|injures"),
    _russian_subject(r"ранены|пострадали|травмированы|контужены|госпитализированы"),
    (re.compile(r"(?:wounding|injuring|injury|injuries) of"),
     re.compile(rf"(?:wounding|injuring|injury|injuries) of\s+{_QUANT}{_RANGE}(?!\w)(?:\s+{_NOUN})?", re.IGNORECASE)),
    # "о ранении трёх бойцов"
    (re.compile(r"ранени"), re.compile(rf"(?<!\w)ранени[иья]\s+{_QUANT}{_RANGE}(?!\w)(?:\s+{_NOUN})?", re.IGNORECASE)))
def _ru_pair(verb: str) -> Gated:
    """A plural verb and a list of single people: "ранены водитель и пассажир", "погибли мужчина, женщина
    и подросток" (one each)."""
    return re.compile(verb), re.compile(rf"(?<!\w)(?:{verb})\s+(?P<noun>{_RU_PERSON})"
                                        r"(?P<more>(?:\s*,\s*[а-яё-]+)*)\s+и\s+[а-яё-]+(?![а-яё])", re.IGNORECASE)


_RU_PAIR_KILLED = _ru_pair(r"погибли|убиты")
_RU_PAIR_INJURED = _ru_pair(r"ранены|пострадали|травмированы|контужены|госпитализированы")
_WHO_KILLED = _who(r"killed|shot dead")
_WHO_INJURED = _who(r"wounded|injured|hurt")
_SINGLE_KILLED = _singular(r"killed|dies|died|shot dead",
                           r"погиб|погибла|убит|убита|скончался|скончалась|умер|умерла|умерший|умершая")
_SINGLE_INJURED = _singular(r"wounded|injured|hurt",
                            r"ранен|ранена|пострадал|пострадала|травмирован|травмирована|контужен|контужена|"
                            r"ранения|ранение")  # "мирный житель получил ранения"
# More counted nouns before a figure: "12 Sudanese, 4 Chadians died", "10 civilians and five soldiers".
_LIST_BEFORE = re.compile(rf"(?P<n>{_NUM})\s+{_NOUN}\s*(?:,\s*(?:and\s+)?|\s+(?:and|и)\s+)$", re.IGNORECASE)
# How every _LIST_BEFORE match ends, but for white space (it ends the window).
_LIST_TAIL = re.compile(r"(?:,|and|и)\Z", re.IGNORECASE)
_LIST_AFTER = re.compile(rf"\s*(?:,\s*(?:and\s+)?|\s+(?:and|и)\s+)(?!including|among|of whom|в том числе|из них)"
                         rf"(?:(?P<n>{_NUM})\s+)?(?P<noun>(?:[\w.-]+\s+)?"
                         rf"(?:{_PERSON}|{_MIL}|{_CIV}|(?-i:[A-Z])[\w-]*(?:ans|is|ese|ers|ns)))(?!\w)"
                         r"(?=\s*(?:$|[,;:)]|\s(?:and|were|was|killed|dead|died|wounded|injured|in|on|at|и)\b))",
                         re.IGNORECASE)
_NONE_KILLED = re.compile(
    r"no (?:one|body|people|civilians|soldiers)? ?(?:was|were|has been|had been)? ?(?:killed|dead)|"
    r"no (?:deaths|fatalities)|no casualties|without (?:casualties|injuries|victims)|"
    r"neither (?:fatalities|injuries|casualties|deaths) nor|"
    r"no (?:reported )?(?:casualties|fatalities)|no one was (?:hurt|harmed)|no victims|no injuries|"
    r"no (?:[\w-]+ ){0,2}losses|(?:потерь|жертв|погибших) (?:[\w-]+ ){0,4}нет|без (?:жертв|потерь)|"
    r"обошлось без (?:жертв|потерь|пострадавших)", re.IGNORECASE)
_NONE_INJURED = re.compile(
    r"no (?:one|body)? ?(?:was|were)? ?(?:injured|wounded|hurt)|no injuries|no casualties|without casualties|"
    r"nor injuries|no (?:reported )?(?:casualties|injuries)|no one was (?:hurt|harmed)|no victims|"
    r"without (?:casualties|injuries|victims)|neither (?:fatalities|injuries|casualties) nor|"
    r"(?:пострадавших|раненых|жертв) (?:[\w-]+ ){0,4}нет|"
    r"без (?:жертв|пострадавших)|пострадавших нет|раненых нет|обошлось без (?:жертв|пострадавших)|"
    # military "losses" are the killed and the wounded: "no losses", "потерь нет", "без потерь"
    r"no (?:[\w-]+ ){0,2}losses|потерь (?:[\w-]+ ){0,4}нет|без потерь", re.IGNORECASE)
# Words (with the space after them) one of which each of the two patterns above needs (case_gate).
_NONE_KILLED_GATE = _gate(["no ", "without ", "neither ", "потерь ", "жертв ", "погибших ", "без "])
_NONE_INJURED_GATE = _gate(["no ", "without ", "nor ", "neither ", "пострадавших ", "раненых ", "жертв ", "без ",
                            "потерь "])
# Figures of another, earlier event: "after a car bomb that killed 12", "a week earlier, a rocket
# strike on the same market killed 5", "convicted a man accused of a bombing that killed 9".
_BACKGROUND_BEFORE = re.compile(
    r"(?:following|after|since|response to|retaliation for|revenge for|held responsible for|accused of|"
    r"suspected of|charged (?:with|over)|convicted of|sentenced for)\s[^,;:]{0,60}?\b(?:that|which)\s+[^,;:]{0,20}$|"
    r"(?:\b\w+ (?:days?|weeks?|months?|years?) (?:earlier|before|ago|after)|earlier this (?:week|month)|"
    r"last (?:week|month)|previously)"
    r"\b[^;:]{0,110}$", re.IGNORECASE)
# Words one of which each of the patterns above needs, on the lower-cased context (most have none).
_BACKGROUND_HINT = re.compile(trie_pattern(["that", "which", "earlier", "before", "ago", "after", "last ",
                                             "previously"]))
# A side's claim that the sentence says is unconfirmed or denied ("the rebels claimed 40 soldiers died,
# which could not be confirmed"): the conservative coding leaves the claimed figure out.
_CLAIMED = re.compile(r"\bclaim(?:s|ed|ing)?\b[^;:]{0,80}$|утвержда\w+[^;:]{0,80}$", re.IGNORECASE)
_DISPUTED = re.compile(r"\b(?:not|never)\s+(?:been\s+|be\s+)?(?:independently\s+)?(?:confirmed|verified)|"
                       r"\bun(?:confirmed|verified)\b|\bdenied\b|не подтвержд\w+|опроверг\w*", re.IGNORECASE)
_DISPUTED_GATE = _gate(["confirmed", "verified", "denied", "не подтвержд", "опроверг"])
# "20 casualties, 6 of them dead", "20 casualties, including 6 killed" (exact figures only).
_CASUALTIES_DEAD = re.compile(
    rf"(?<!\w)(?P<n>{_NUM})\s+casualties,?\s+(?:including\s+|of whom\s+|among them\s+)?(?P<dead>{_NUM})\s+"
    r"(?:of them\s+|of whom\s+)?(?:were\s+|are\s+)?(?:dead|killed|fatal(?:ities)?|deaths)(?!\w)", re.IGNORECASE)
_CASUALTIES_GATE = _gate(["casualties"])
# The part of casualties that died is a killed figure, not a part of another killed figure.
_OF_CASUALTIES = re.compile(r"casualties,?\s+(?:including|among them|of whom|of them)[\s,:]*(?:\w+\s+)?$",
                            re.IGNORECASE)
# A further loss beside the ones told before: "6 gunmen were also killed", "погибли также 2". Not
# "another 20 died", which as often is another incident's toll ("3 died in one town while another 20 ...").
_ALSO = re.compile(r"\b(?:also|further|additional)\b|(?<!\w)также(?!\w)", re.IGNORECASE)
_COLLECTIVE = re.compile(r"(?:[\w-]+\s+)?(?:number|lot|total|series|handful|couple|group|majority|minority|host|"
                         r"unit|team|convoy|family|crowd|band|squad|patrol)\b", re.IGNORECASE)
# A threat or an aim, not a loss: "threatened to kill 5 hostages", "vowed to kill a commander".
_INTENT = re.compile(r"\b(?:threaten\w*|vow\w*|pledg\w*|plann?\w*|tr(?:y|ied|ies|ying)|attempt\w*|want\w*|intend\w*|"
                     r"promis\w*|sought|seek\w*|aim\w*|order\w*|call\w* for)\s+(?:\w+\s+)?to\s+$", re.IGNORECASE)
# Things a verb of killing or wounding takes that are not people ("killed a deal", "wounded a tank").
_NOT_A_PERSON = re.compile(r"\b(?:deal|plan|bill|truce|ceasefire|agreement|process|talks|project|proposal|chance|hope|"
                           r"idea|bid|effort|attempt|motion|momentum|vehicle|car|truck|tank|engine|program(?:me)?)$",
                           re.IGNORECASE)
_PART_OF_HINT = re.compile(trie_pattern(["includ", "among", "of whom", "of them", "в том числе", "из них",
                                          "среди них"]))
_PART_OF = re.compile(r"(?:including|among them|among whom|of whom|of them|among the dead|в том числе|из них|среди них)"
                      r"[\s,:]*(?:\w+\s+)?$", re.IGNORECASE)
_CUMULATIVE = re.compile(
    r"since (?:the start|the beginning|(?:19|20)\d\d|the war|the invasion|the conflict|the offensive|the fighting|"
    r"hostilities|the uprising|the insurgency|(?:the|its|their) [\w -]{1,30}? (?:began|started|erupted|broke out))|"
    r"in total|in all|so far this|this year alone|the war has|the conflict has|(?:19|20)\d\d war|"
    r"с начала (?:войны|года|конфликта|вторжения|сво|спецоперации|агрессии|месяца)|за время|всего с|"
    r"с (?:19|20)\d\d|в ходе войны|за весь|за год|за месяц", re.IGNORECASE)
_COMPARED_SINCE = re.compile(r"\b(?:deadliest|worst|heaviest|bloodiest|largest|biggest|most (?:deadly|serious|"
                             r"intense|violent))\b[^;:]{0,80}?\bsince\b", re.IGNORECASE)
# A toll that sums a longer stretch than the incident: "raising the death toll from a week of fighting to
# 60", "the toll of the war rose to 3,000" (the incident's own toll may rise too: "the toll of the strike").
_PERIOD_TOLL = re.compile(r"toll\w*\s+(?:\w+\s+){0,2}?(?:from|in|of|since)\s+(?:\w+\s+){0,4}?(?:war|conflict|fighting|"
                          r"offensive|campaign|clashes|violence|unrest|uprising|insurgency|hostilities|days?|weeks?|"
                          r"months?|years?)\b", re.IGNORECASE)
# Sentences; a period inside a number ("12.7") or after an initial ("U.S.") does not end one.
_SENTENCE = re.compile(r"[^.!?\n]+(?:(?:\.(?=\d)|(?<=\b[A-Z])\.)[^.!?\n]*)*")
_IS_MIL = re.compile(_MIL, re.IGNORECASE)
_IS_CIV = re.compile(_CIV + r"|\b(?:man|woman|boy|girl|resident|teenager|driver|farmer|мужчин|женщин|жител|водител|"
                     r"подрост|пенсионер)", re.IGNORECASE)


_CONTEXT = 120  # characters of context before a figure
# Word beginnings every casualty pattern needs: sentences without one are not searched (most are not).
# Matched on lower-cased text without IGNORECASE, as a prefix tree: this test runs on every sentence.
_ANY_CASUALTY = re.compile(trie_pattern([
    "kill", "dead", "die", "death", "fatalit", "casualt", "wound", "injur", "hurt", "hospitali", "lost", "slain",
    "perish", "toll", "loss", "bodies", "погиб", "гибел", "убит", "жертв", "скончал", "умер", "ранен", "пострада",
    "травм", "контуж", "потер"]))
# ... and the ones each kind's patterns need: a sentence is searched only for the kinds it has words of.
_ANY_KILLED = re.compile(trie_pattern([
    "kill", "dead", "die", "death", "fatalit", "slain", "perish", "toll", "loss", "lives",
    "погиб", "гибел", "убит", "жертв", "скончал", "умер", "lost", "bodies"]))
_ANY_INJURED = re.compile(trie_pattern([
    "wound", "injur", "hurt", "hospital", "госпитализ", "ранен", "пострада", "травм", "контуж", "casualt"]))
# Words one of which every _CUMULATIVE match has, on lower-cased text: most sentences have none.
_CUMULATIVE_HINT = re.compile(trie_pattern([
    "since ", "in total", "in all", "so far this", "this year alone", "war", "conflict has", "с начала", "за время",
    "всего с", "с 19", "с 20", "в ходе войны", "за весь", "за год", "за месяц"]))


@dataclass(frozen=True)
class _Kind:
    """The patterns of the killed or of the injured figures."""

    words: re.Pattern[str]  # word beginnings (lower-cased) every pattern below needs
    patterns: tuple[re.Pattern[str], ...]
    gated: tuple[Gated, ...]  # patterns tried only where their gate finds something
    single: tuple[re.Pattern[str], re.Pattern[str]]  # English, Russian
    who: Gated  # one person in a relative clause
    pair: Gated  # a Russian list of single people
    none: re.Pattern[str]
    none_gate: re.Pattern[str]  # words one of which `none` needs (case_gate)


# The costliest patterns, each with its case-sensitive twin for the lower-cased sentence (case_gate).
# (Keyed by id: a compiled pattern hashes its whole program, which costs more than a scan of a sentence.)
_TWINNED = (*_KILLED, *_INJURED, *_SINGLE_KILLED, *_SINGLE_INJURED, *(p for _, p in _KILLED_GATED),
            *(p for _, p in _INJURED_GATED), _WHO_KILLED[1], _WHO_INJURED[1], _NONE_KILLED, _NONE_INJURED, _CUMULATIVE,
            _CASUALTIES_DEAD, _DISPUTED, _BACKGROUND_BEFORE, _INTENT, _CLAIMED, _PART_OF, _LIST_BEFORE, _VERB_END)
_TWINNED_IDS = frozenset(id(pattern) for pattern in _TWINNED)
# Twins are compiled on first use: compiling all of them at import doubled the classifier's start-up.
_LOOSE: dict[int, re.Pattern[str]] = {}
_KILLED_KIND = _Kind(_ANY_KILLED, _KILLED, _KILLED_GATED, _SINGLE_KILLED, _WHO_KILLED, _RU_PAIR_KILLED, _NONE_KILLED,
                     _NONE_KILLED_GATE)
_INJURED_KIND = _Kind(_ANY_INJURED, _INJURED, _INJURED_GATED, _SINGLE_INJURED, _WHO_INJURED, _RU_PAIR_INJURED,
                      _NONE_INJURED, _NONE_INJURED_GATE)


# What the search of one kind found out about a sentence that the other kind's search asks too.
_Memo = dict[tuple[int, int], bool]
_SINGLE, _DISPUTE = 0, 1  # one person's words (_SINGLE_GATE) there; a figure disputed (_DISPUTED) there


def extract_casualties(text: str, lang: str, model: Model | None = None, pub_year: int | None = None,
                       attack_at: Sequence[int] = (), lowered: str | None = None) -> tuple[Casualties, Casualties]:
    """(killed, injured) as the text states them; Casualties() where it gives no figure. With a
    casualty `model`, every figure the patterns find is weighed by it (figure_choice) instead of
    keeping them all; `attack_at` are the offsets of the attack phrases. Either way the sentences about a
    whole war or an earlier year are background, by rule. `lowered`: rules.lower_text(text), when known."""
    del lang  # English and Russian patterns are tried on every text; they do not collide
    if "\u0130" in text:  # the one character whose lower case is two (lower_text keeps it; str.lower does not)
        lowered = None
    if "\\" in text:  # some wire feeds break lines with a backslash ("wounding\\two"); same length
        text = text.replace("\\", " ")
        lowered = None if lowered is None else lowered.replace("\\", " ")
    if model is None:
        return _by_rule(text, pub_year, lowered)
    killed, injured, none_killed, none_injured = figure_rows(text, pub_year, attack_at, lowered)
    return (_chosen(model, killed, none_killed), _chosen(model, injured, none_injured))


def _by_rule(text: str, pub_year: int | None, lowered: str | None = None) -> tuple[Casualties, Casualties]:
    if lowered is None:
        lowered = text.lower()
    if not _ANY_CASUALTY.search(lowered):
        return Casualties(), Casualties()
    scan = _scan(text, lowered)
    sentences = [(start, chunk) for start, chunk, cumulative in _sentences(text, lowered, scan)
                 if _ANY_CASUALTY.search(lowered, start, start + len(chunk))
                 and not _background(chunk, cumulative, pub_year)]
    memo: _Memo = {}
    return (_extract(text, lowered, scan, sentences, _KILLED_KIND, memo),
            _extract(text, lowered, scan, sentences, _INJURED_KIND, memo))


def _scan(text: str, lowered: str) -> str | None:
    """The lower-cased text for the case_gate pre-scans, or None where they cannot be trusted."""
    return None if case_gate.UNSAFE.search(text) else lowered


def _sentences(text: str, lowered: str, scan: str | None = None) -> list[tuple[int, str, bool]]:
    """The sentences with their offsets, each cut where it compares the incident with an earlier one
    ("..., the deadliest attack since 2019, when 30 died") or turns to a running total in a clause of
    its own ("Two soldiers were killed, the ministry said; since the war began 4,000 have died", "погибли
    трое военных, с начала года — 150"): what follows is another event's or the war's. Third: whether
    what is left is about a whole war or a running total (_CUMULATIVE; worked out here, where the
    search for a running total is made anyway)."""
    out = []
    for s in _SENTENCE.finditer(text):
        chunk = s.group(0)
        if lowered.find("since", s.start(), s.end()) >= 0:
            compared = _COMPARED_SINCE.search(chunk)
            if compared:
                chunk = chunk[:compared.start()]
        cumulative = False
        if _CUMULATIVE_HINT.search(lowered, s.start(), s.start() + len(chunk)):
            running = _search(_CUMULATIVE, chunk, _low(scan, s.start(), chunk))
            clause = max(chunk.rfind(mark, 0, running.start()) for mark in ",;—–") if running else -1
            if clause > 0:
                chunk = chunk[:clause]
                cumulative = _cumulative(lowered, s.start(), chunk, scan)
            else:
                cumulative = running is not None
        out.append((s.start(), chunk, cumulative))
    return out


def _cumulative(lowered: str, start: int, chunk: str, scan: str | None) -> bool:
    """Whether a sentence is about a whole war or a running total."""
    return bool(_CUMULATIVE_HINT.search(lowered, start, start + len(chunk))
                and _search(_CUMULATIVE, chunk, _low(scan, start, chunk)))


def _background(chunk: str, cumulative: bool, pub_year: int | None) -> bool:
    """Whether a sentence is about a whole war, a running total (`cumulative`, from _sentences) or an
    earlier year."""
    return cumulative or figure_choice.earlier_year(chunk, pub_year)


Rows = list[tuple["Figure", dict[str, float]]]


def figure_rows(text: str, pub_year: int | None, attack_at: Sequence[int] = (),
                lowered: str | None = None) -> tuple[Rows, Rows, bool, bool]:
    """Every killed and injured figure with its features, and whether the text says no one was
    killed / hurt (for the learned choice and for scripts/fit_weights.py). `lowered`: text.lower()."""
    if lowered is None:
        lowered = text.lower()
    if not _ANY_CASUALTY.search(lowered):
        return [], [], False, False
    scan = _scan(text, lowered)
    sentences = _sentences(text, lowered, scan)
    killed: Rows = []
    injured: Rows = []
    memo: _Memo = {}
    for index, (start, chunk, cumulative) in enumerate(sentences):
        if not _ANY_CASUALTY.search(lowered, start, start + len(chunk)) or _background(chunk, cumulative, pub_year):
            continue  # a whole war's toll, or a past year's: background by rule
        context = figure_choice.sentence_features(chunk, start, index, pub_year, attack_at, _low(scan, start, chunk))
        for rows, kind, injured_flag in ((killed, _KILLED_KIND, 0.0), (injured, _INJURED_KIND, 1.0)):
            for figure in _found(lowered, scan, start, chunk, kind, memo):
                rows.append((figure, {**context, "injured": injured_flag}))
    for rows in (killed, injured):
        figure_choice.add_figure_features(rows)
    return killed, injured, _says_none(text, scan, _KILLED_KIND), _says_none(text, scan, _INJURED_KIND)


def _says_none(text: str, scan: str | None, kind: _Kind) -> bool:
    """Whether the text says no one was killed / hurt."""
    return may_match(kind.none_gate, scan) and _search(kind.none, text, scan) is not None


def _chosen(model: Model, rows: Rows, none_said: bool) -> Casualties:
    kept = [figure for figure, f in rows if model.accepts(f)]
    if kept:
        return total(kept)
    return Casualties(0) if none_said else Casualties()


def _extract(text: str, lowered: str, scan: str | None, sentences: list[tuple[int, str]], kind: _Kind,
             memo: _Memo) -> Casualties:
    figures: list[Figure] = []
    for start, chunk in sentences:
        figures.extend(_found(lowered, scan, start, chunk, kind, memo))
    if not figures:
        return Casualties(0) if _says_none(text, scan, kind) else Casualties()
    return total(figures)


def _found(lowered: str, scan: str | None, start: int, chunk: str, kind: _Kind, memo: _Memo) -> list[Figure]:
    """The figures of one kind a sentence states (none, unsearched, when it has no word of the kind).
    `memo`: what the other kind's search found out about the sentence, by (start, _SINGLE or _DISPUTE)."""
    if not kind.words.search(lowered, start, start + len(chunk)):
        return []
    found = _figures(chunk, start, kind, lowered, scan, memo)
    single = memo.get((start, _SINGLE))
    if single is None:
        single = memo[start, _SINGLE] = may_match(_SINGLE_GATE, scan, start, start + len(chunk))
    if single:
        found.extend(_singles(chunk, start, kind.single, _low(scan, start, chunk)))
    gate, who = kind.who
    if gate.search(lowered, start, start + len(chunk)):
        found.extend(_singles(chunk, start, (who,), _low(scan, start, chunk)))
    gate, pair = kind.pair
    if gate.search(lowered, start, start + len(chunk)):
        for m in pair.finditer(chunk):
            members = 2 + m.group("more").count(",")
            found.append(Figure(members, False, False, False, start + m.start("noun")))  # sides may differ
    if kind is _INJURED_KIND:
        if may_match(_CASUALTIES_GATE, scan, start, start + len(chunk)):
            found.extend(_wounded_of_casualties(chunk, start, _low(scan, start, chunk)))
    return found


def _low(scan: str | None, start: int, chunk: str) -> str | None:
    """The sentence lower-cased, for the pre-scans (None where they cannot be trusted)."""
    return None if scan is None else scan[start:start + len(chunk)]


def _finditer(pattern: re.Pattern[str], chunk: str, low: str | None) -> Iterator[re.Match[str]]:
    """pattern.finditer(chunk), led by the pattern's loose twin where it has one (case_gate.finditer)."""
    loose = loose_twin_of(pattern)
    return pattern.finditer(chunk) if loose is None else case_gate.finditer(pattern, loose, chunk, low)


def loose_twin_of(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """The case-sensitive twin of one of the twinned patterns (compiled once, on first use), else None."""
    key = id(pattern)
    loose = _LOOSE.get(key)
    if loose is None and key in _TWINNED_IDS:
        loose = _LOOSE[key] = case_gate.loose_twin(pattern)
    return loose


def _search(pattern: re.Pattern[str], chunk: str, low: str | None) -> re.Match[str] | None:
    """pattern.search(chunk), led by the pattern's loose twin where it has one."""
    return next(_finditer(pattern, chunk, low), None)


def _wounded_of_casualties(chunk: str, offset: int, low: str | None) -> list[Figure]:
    """Casualties are the killed and the wounded: "20 casualties, 6 of them dead" states 14 wounded."""
    out = []
    for m in _finditer(_CASUALTIES_DEAD, chunk, low):
        (everyone, _), (dead, _) = _number(m.group("n")), _number(m.group("dead"))
        if everyone is not None and dead is not None and everyone > dead:
            out.append(Figure(everyone - dead, False, False, False, offset + m.start("n")))
    return out


def _figures(chunk: str, offset: int, kind: _Kind, lowered: str, scan: str | None, memo: _Memo) -> list[Figure]:
    found: dict[int, Figure] = {}
    end = offset + len(chunk)
    gated = [pattern for gate, pattern in kind.gated if gate.search(lowered, offset, end)]
    low = None if scan is None else scan[offset:end]
    disputed = memo.get((offset, _DISPUTE))
    if disputed is None:
        disputed = memo[offset, _DISPUTE] = \
            may_match(_DISPUTED_GATE, scan, offset, end) and _search(_DISPUTED, chunk, low) is not None
    for pattern in (*kind.patterns, *gated) if gated else kind.patterns:
        for m in _finditer(pattern, chunk, low):
            before = _before(chunk, m.start())
            hints = lowered[offset + m.start() - len(before):offset + m.start()]
            low_before = None if low is None else low[m.start() - len(before):m.start()]
            if (_part_of(before, hints, low_before) and not _OF_CASUALTIES.search(before)) \
                    or (_BACKGROUND_HINT.search(hints) and _search(_BACKGROUND_BEFORE, before, low_before)) \
                    or (hints.rstrip()[-2:] == "to" and _search(_INTENT, before, low_before)) \
                    or _PERIOD_TOLL.search(m.group(0)) \
                    or (disputed and _search(_CLAIMED, before, low_before)):
                continue
            noun = m.groupdict().get("noun") or ""
            if (not noun and m.end() == m.end("n") and _RU_OBJECT_AFTER.match(chunk, m.end())) or _ru_property(noun):
                continue  # "пострадали 5 домов", "три жилых дома пострадали": property, not people
            article = m.group("n").lower()
            if article in ("a", "an", "one") and ((not noun and article != "one") or _COLLECTIVE.match(noun)
                                                 or _NOT_A_PERSON.search(noun)):
                continue  # "a number of soldiers", "a group of fighters", "killed a deal": no count of people
            figure = _figure(m.group("n"), noun, offset + m.start("n"))
            if figure is not None:
                if _ALSO.search(m.group(0)):
                    figure = dataclasses.replace(figure, also=True)
                figure = _combine(figure, _listed(chunk, m, offset, low))
                found.setdefault(figure.start, figure)
    return list(found.values())


def _combine(figure: Figure, others: list[Figure]) -> Figure:
    """One figure for a list of separate losses: their sum, with a category only if they share it;
    a list of both sides keeps each side's part."""
    if not others:
        return figure
    members = [figure, *others]
    military = all(f.military for f in members)
    civilian = all(f.civilian for f in members)
    return Figure(sum(f.value for f in members), military, civilian, any(f.vague for f in members),
                  min(f.start for f in members), sum(_sides(f)[0] for f in members),
                  sum(_sides(f)[1] for f in members), figure.also)


def _sides(f: Figure) -> tuple[int, int]:
    """The military and civilian parts of a figure."""
    return (f.value if f.military else f.military_part, f.value if f.civilian else f.civilian_part)


def _listed(chunk: str, m: re.Match[str], offset: int, low: str | None) -> list[Figure]:
    """The other members of a list the figure closes or opens ("12 Sudanese, 4 Chadians")."""
    out = []
    window = _before(chunk, m.start("n"))
    # (only where the window ends as the pattern does: searching it from every position costs more)
    low_window = None if low is None else low[m.start("n") - len(window):m.start("n")]
    before = _search(_LIST_BEFORE, window, low_window) if _LIST_TAIL.search(window.rstrip()[-3:]) else None
    ahead = _before(window, before.start()) if before else ""
    low_ahead = None if low_window is None or not before else low_window[before.start() - len(ahead):before.start()]
    # "погибли двое военных и пятеро ранены": the first member is counted by another verb.
    counted_already = before is not None and _search(_VERB_END, ahead, low_ahead)
    if before and not counted_already and not _search(_PART_OF, ahead, low_ahead):
        figure = _figure(before.group("n"), before.group("noun"), offset + m.start("n") - len(window) + before.start())
        if figure is not None:
            out.append(figure)
    noun_end = m.end("noun") if m.groupdict().get("noun") else -1
    after = _LIST_AFTER.match(chunk, noun_end) if noun_end > 0 else None
    if after:
        # Without a number, only a headline's capitalised member counts ("Clashes Kill 8 Rebels, Soldier");
        # in running text it is an apposition ("двое жителей, мужчина и женщина").
        bare = after.group("n") is None and not after.group("noun")[:1].isupper()
        figure = None if bare else _figure(after.group("n") or "one", after.group("noun"), offset + after.start("noun"))
        if figure is not None:
            out.append(figure)
    return out


def _part_of(before: str, hints: str, low_before: str | None) -> bool:
    """_PART_OF, tried only when the lower-cased context has one of the words it needs."""
    return bool(_PART_OF_HINT.search(hints) and _search(_PART_OF, before, low_before))


def _before(chunk: str, pos: int) -> str:
    """The few words before `pos`: the context patterns ending in `$` are searched in this only,
    because searching a whole sentence from every position costs more than the rest together."""
    return chunk[max(0, pos - _CONTEXT):pos]


def _figure(raw: str, noun: str, start: int) -> Figure | None:
    value, vague = _number(raw)
    if value is None:
        return None
    military = bool(_IS_MIL.search(noun))
    civilian = not military and bool(_IS_CIV.search(noun))
    return Figure(value, military, civilian, vague, start)


def _singles(chunk: str, offset: int, single: tuple[re.Pattern[str], ...], low: str | None) -> list[Figure]:
    """One person each: the English pattern, and the Russian one (second) only in a Cyrillic sentence."""
    found = []
    for pattern in single if len(single) == 1 or _CYRILLIC.search(chunk) else single[:1]:
        for m in _finditer(pattern, chunk, low):
            before = _before(chunk, m.start())
            low_before = None if low is None else low[m.start() - len(before):m.start()]
            # (_PART_OF needs one of _PART_OF_HINT's words: most contexts have none)
            if (low_before is not None and not _PART_OF_HINT.search(low_before)) \
                    or not _search(_PART_OF, before, low_before):
                groups = m.groupdict()
                noun = groups.get("noun") or groups.get("noun2") or groups.get("noun3") or ""
                figure = _figure("one", noun, offset + m.start())
                if figure is not None:
                    found.append(figure)
    return found


def _number(raw: str) -> tuple[int | None, bool]:
    word = raw.lower().strip()
    digits = word.replace(" ", "").replace(",", "")
    if digits.isdigit():
        value = int(digits)
        return (value, False) if value < 100000 else (None, False)  # phone numbers are not tolls
    if word in _VAGUE:
        return _VAGUE[word], True
    return (1 if word == "another" else _NUMBERS.get(word)), False


def total(figures: list[Figure]) -> Casualties:
    """One figure per incident.

    A figure without a category ("5 killed", "5 people") that is at least the sum of the categorised
    ones is the total of which they are parts (a title and its body); otherwise the distinct
    categorised figures are separate losses and are added (49 Armenian + 50 Azerbaijani soldiers).
    A figure the text marks as a further loss ("were also killed") is added to the others.
    Vague figures count only when there is no exact one.
    """
    exact = [f for f in figures if not f.vague]
    figures = exact or figures
    vague = not exact
    further = [f for f in figures if f.also]
    rest = [f for f in figures if not f.also] or further[:1]
    if rest and further and rest[0] is further[0]:
        further = further[1:]
    distinct: list[Figure] = []
    for f in sorted(rest, key=lambda f: f.start):
        same = next((i for i, d in enumerate(distinct)
                     if f.value == d.value and f.military == d.military and f.civilian == d.civilian), None)
        if same is None:
            distinct.append(f)
        elif _sides(f) != (0, 0) and _sides(distinct[same]) == (0, 0):  # a repeat that tells the sides
            distinct[same] = f
    generic = [f for f in distinct if not (f.military or f.civilian)]
    parts = [f for f in distinct if f.military or f.civilian]
    top = max(generic, key=lambda f: f.value) if generic else None
    if top is not None and top.value > sum(f.value for f in parts):
        counted = [top]
    else:
        counted = parts
    counted += further
    military = sum(_sides(f)[0] for f in counted) or None
    civilian = sum(_sides(f)[1] for f in counted) or None
    return Casualties(sum(f.value for f in counted), military, civilian, vague)
