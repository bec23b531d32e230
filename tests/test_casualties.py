"""Casualty figures: digits and words, EN and RU, ACLED conventions (LABELS.md)."""

from __future__ import annotations

import pytest

from monitor.models import Casualties
from monitor.reading.casualties import extract_casualties


@pytest.mark.parametrize(
    ("text", "killed", "injured"),
    [
        ("Shelling kills 4 in Donetsk", 4, None),
        ("Three civilians were killed and five wounded", 3, 5),
        ("At least 49 soldiers were killed", 49, None),
        ("Between 10 and 15 people died. Officials said 10 to 15 people were killed", 10, None),
        ("49 Armenian soldiers were killed. Azerbaijan said 50 of its servicemen died.", 99, None),
        ("Six villagers died, including three children", 6, None),
        ("Shelling kills 5\nThree civilians and two soldiers were killed on Monday", 5, None),
        ("14 Sudanese, 2 Chadians die in border fighting", 16, None),
        ("The conflict has claimed 8,000 lives since 2019. Two soldiers were killed on Tuesday.", 2, None),
        ("No casualties were reported.", 0, 0),
        ("There were neither fatalities nor injuries, officials said.", 0, 0),
        ("An Armenian soldier was wounded by sniper fire", None, 1),
        ("Man wounded by drone in Kherson", None, 1),
        ("The death toll from the missile strike rose to 14", 14, None),
        ("Погибли два человека, ещё пятеро получили ранения", 2, 5),
        ("В результате обстрела ранены трое мирных жителей", None, 3),
        ("Потерь среди военнослужащих нет", 0, 0),
        ("Ранен военнослужащий", None, 1),
        ("The 26-year-old soldier died on 17 January", 1, None),
    ],
)
def test_figures_as_stated(text: str, killed: int | None, injured: int | None) -> None:
    k, i = extract_casualties(text, "en")
    assert (k.count, i.count) == (killed, injured)


@pytest.mark.parametrize(
    ("text", "value"),
    [("Dozens of people were killed", 12), ("Several soldiers were wounded", 3), ("Hundreds were injured", 100),
     ("scores of civilians were killed", 20), ("Несколько человек погибли", 3)],
)
def test_vague_counts_are_coded_conservatively_and_marked(text: str, value: int) -> None:
    k, i = extract_casualties(text, "en")
    figure = k if k.count is not None else i
    assert figure.count == value and figure.vague is True


def test_exact_figure_wins_over_a_vague_one() -> None:
    killed, _ = extract_casualties("Militias trade fire, killing several\nAt least 10 civilians were killed", "en")
    assert killed == Casualties(10, None, 10, False)


def test_military_and_civilian_parts() -> None:
    killed, _ = extract_casualties("Four soldiers were killed", "en")
    assert killed == Casualties(4, 4, None, False)
    killed, injured = extract_casualties("Two soldiers were killed and three civilians were wounded", "en")
    assert (killed, injured) == (Casualties(2, 2, None, False), Casualties(3, None, 3, False))


def test_a_sum_of_parts_keeps_its_total() -> None:
    killed, _ = extract_casualties("Two soldiers and three civilians were killed in the shelling", "en")
    assert killed.count == 5


def test_a_sum_of_parts_keeps_its_split() -> None:
    killed, _ = extract_casualties("Two soldiers and three civilians were killed in the shelling", "en")
    assert killed == Casualties(5, 2, 3, False)
    # ... also when a title gives the same total without the sides
    killed, _ = extract_casualties("Shelling kills 5\nThree civilians and two soldiers died on Monday", "en")
    assert killed == Casualties(5, 2, 3, False)


def test_no_figure_is_none() -> None:
    assert extract_casualties("Artillery fire hit the village overnight", "en") == (Casualties(), Casualties())


@pytest.mark.parametrize(
    ("text", "killed", "injured"),
    [
        ("The blast caused neither injuries nor fatalities, police said.", 0, 0),
        ("A rocket fell in a field without injuries", 0, 0),
        ("The assault ended with the killing of 3 sentries and the injuring of 4 others.", 3, 4),
        ("Gunmen overran the post, killing at least 7 people, including two officers", 7, None),
        ("Troops retaliate after 6 killed in mortar attack", 6, None),
        ("The army returned fire; our units suffered no combat losses.", 0, 0),  # losses: killed and wounded
        ("A drone hit a bus depot, killing 3. The town is shelled daily: two days earlier, on 3 March, a missile "
         "strike on the railway station of the same town killed 9 people.", 3, None),  # the 9 are another event
        ("Two soldiers were wounded; no losses among the civilians", 0, 2),  # a stated figure beats a zero
        ("Shelling killed 4 people on Sunday. Two days earlier, rockets on the market killed 11 people.", 4, None),
    ],
)
def test_zero_phrases_nominal_forms_and_other_events(text: str, killed: int | None, injured: int | None) -> None:
    k, i = extract_casualties(text, "en")
    assert (k.count, i.count) == (killed, injured)


@pytest.mark.parametrize(
    ("text", "killed", "injured"),
    [
        ("killing one guard and wounding another", 1, 1),
        ("a policeman was killed while another officer and two farmers were left injured", 1, 3),
        ("five were killed; 21 others, eight of them children, were wounded", 5, 21),
        ("При обстреле погибли трое бойцов и четверо ранены", 3, 4),
        ("ранены двое жителей, пенсионер и подросток", None, 2),
        ("7 dead and 30 people in hospital", 7, 30),
        ("the strike killed another 5 people", 5, None),
    ],
)
def test_lists_appositions_and_another(text: str, killed: int | None, injured: int | None) -> None:
    k, i = extract_casualties(text, "en")
    assert (k.count, i.count) == (killed, injured)


@pytest.mark.parametrize(
    ("text", "killed", "injured"),
    [
        # a passive clause's subject of any words: unknown nouns, "members of ...", an inserted "including"
        ("4 herders were killed and 6 were wounded near the river.", 4, 6),
        ("On 2 June 2021, 4 members of a local vigilante group were killed by gunmen.", 4, None),
        ("11 rebels including their local leader were killed in the raid.", 11, None),
        ("1 trader was shot and killed at the market.", 1, None),
        ("2 village guards were found dead near the road.", 2, None),
        ("40 XY/Z fighters were killed in the air raid.", 40, None),
        ("One truck driver was shot dead at a roadblock.", 1, None),
        # nouns that begin like a month are not dates
        ("Troops killed 17 separatists in the forest.", 17, None),
        ("5 marines were killed on Monday.", 5, None),
        # neither a year nor a second counted group is a subject
        ("In 2019 hundreds were killed in the region.", 100, None),
        ("Three villages where residents were killed were shelled again.", None, None),
        # the lower bound of a stated range of fatalities
        ("Reported fatalities ranged from 2 to 4.", 2, None),
        # one person as the object, whatever the noun; not a threat, not a thing, not a count
        ("Rebels raided the village and killed a village elder.", 1, None),
        ("A landmine killed a herder in the district.", 1, None),
        ("A sniper wounded an elderly beekeeper on Monday.", None, 1),
        ("The gunmen threatened to kill a hostage.", None, None),
        ("The group vowed to kill 10 soldiers for every fighter lost.", None, None),
        ("The army used a drone to kill 2 fighters.", 2, None),
        ("The vote killed a deal on the truce.", None, None),
        ("The strike killed an estimated 30 people.", 30, None),
        # casualties are the killed and the wounded
        ("The clinic said it took in 20 casualties, six of them dead.", 6, 14),
        ("The hospital received 12 casualties, including 3 killed, after the shelling.", 3, 9),
        # a singular person described at length, or in a relative clause
        ("Officials named the rebel officer who was killed in the strike.", 1, None),
        ("Residents mourned the popular young village teacher who was killed in the blast.", 1, None),
        ("Police named the gunman who killed 5 people.", 5, None),
    ],
)
def test_passive_subjects_of_any_words(text: str, killed: int | None, injured: int | None) -> None:
    k, i = extract_casualties(text, "en")
    assert (k.count, i.count) == (killed, injured)


@pytest.mark.parametrize(
    ("text", "killed"),
    [
        # class 1: the toll of the event a side answers or a suspect is held for is another event's
        ("Jets struck depots in response to a mortar barrage that killed 6 people; 3 fighters died in the strikes.", 3),
        ("A court convicted a man accused of a market bombing that killed 14, and troops killed 2 gunmen in a raid.",
         2),
        ("Two people were killed on Monday, a day after 5 were killed in a similar strike.", 2),
        ("A shell killed 3 soldiers. Officials say 1,200 people have been killed since the offensive began.", 3),
        # a comparison with an earlier event ("the deadliest since ...") tells that event's toll, not this one's
        ("The strike killed 12 people, the deadliest attack since 2019.", 12),
        ("Shelling killed 4 people on Monday, the deadliest day since March, when 30 were killed in one strike.", 4),
        ("A strike killed 7 soldiers. It was the heaviest loss since the truce, under which 200 people have died.", 7),
        # a toll of a longer stretch than the incident is a running total; the incident's own toll may rise
        ("The attack killed 9, raising the death toll from a week of fighting to 60.", 9),
        ("The death toll from Saturday's strike rose to 31, officials said.", 31),
        ("Five people were killed in the strike, which came a year after a similar attack killed 20.", 5),
        # other ways of stating deaths; "lost" counts people only
        ("The army lost 3 soldiers on Tuesday.", 3),
        ("The army lost 3 tanks in the battle.", None),
        ("The bodies of 11 people were recovered from the rubble.", 11),
        # a running total in a clause of its own is cut off; one that opens the sentence drops it
        ("Shelling killed 2 civilians in the city, the governor said, adding that 700 people have been killed in "
         "the region since the start of the war.", 2),
        ("Two soldiers were killed, the ministry said; since the war began 4,000 soldiers have died.", 2),
        ("A rocket killed 4 people. Since the start of the war, 90 people have died in the village.", 4),
        # a side's figure the text calls unconfirmed is left out (the conservative coding)
        ("The army said 4 rebels were killed. The rebels claimed to have killed 30 soldiers, which officials denied.",
         4),
        # a further loss is added to the others, whatever its side
        ("Five villagers were killed. Officials said 3 attackers were also killed.", 8),
        ("2 guards were killed; 3 people were also killed later.", 5),
    ],
)
def test_other_events_claims_and_further_losses(text: str, killed: int | None) -> None:
    assert extract_casualties(text, "en")[0].count == killed


@pytest.mark.parametrize(
    "text",
    ["Troops clashed with a number of fighters near the border; fatalities were reported.",
     "The strike caused casualties among the defenders, the army said.",
     "A number of soldiers were killed in the ambush, the ministry said.",
     "Officials reported deaths but gave no figure.",
     "An unknown number of soldiers were killed.",
     "Many soldiers died in the fighting, witnesses said."],
)
def test_unstated_tolls_give_no_figure(text: str) -> None:
    # class 7: an unstated toll is no figure at all (null), never a guess
    killed, _ = extract_casualties(text, "en")
    assert killed.count is None


def test_backslash_line_breaks_of_wire_feeds_are_spaces() -> None:
    _, injured = extract_casualties("Rockets struck a school yard, wounding\\two pupils.", "en")
    assert injured.count == 2


@pytest.mark.parametrize(
    ("text", "killed", "injured"),
    [("Штаб сообщил о гибели двух военнослужащих.", 2, None),
     ("Штаб сообщил о ранении трёх бойцов.", None, 3),
     ("По данным штаба, за сутки погибли трое военных, с начала года — 150.", 3, None),
     ("Мирный житель получил ранения в результате обстрела.", None, 1),
     # a count of any people before the verb; not time, munitions or property ("пострадали 5 домов")
     ("Двое горняков ранены при обстреле.", None, 2),
     ("Трое сотрудников почты погибли, сообщил глава района.", 3, None),
     ("За 2 дня погибли 5 человек.", 5, None),
     ("В результате обстрела пострадали 5 домов.", None, None),
     ("Три жилых дома пострадали от обстрела.", None, None),
     # a plural verb and a list of single people
     ("Ранены водитель и пассажир автобуса.", None, 2),
     ("Погибли мужчина, женщина и подросток.", 3, None)],
)
def test_russian_nominal_forms(text: str, killed: int | None, injured: int | None) -> None:
    k, i = extract_casualties(text, "ru")
    assert (k.count, i.count) == (killed, injured)


@pytest.mark.parametrize("text", [
    "Three soldiers were killed and two civilians wounded in shelling of a frontier hamlet.",
    "İSTANBUL - A bomb killed 4 people\\and wounded 9 near a market.",
    "Погибли двое военнослужащих, ещё трое ранены.",
])
def test_the_lowered_text_given_by_classify_changes_nothing(text: str) -> None:
    # classify passes rules.lower_text(text), which keeps the length where str.lower does not ("İ")
    from monitor.reading.rules import lower_text

    assert extract_casualties(text, "en", lowered=lower_text(text)) == extract_casualties(text, "en")
