// A scripted field day on real stores synced through a real gridline-server on loopback: a grid leader walks
// the rounds (a door check-in, a phone check-in that finds a problem and reports it, a service ordered for an
// elderly resident living alone, a household's yearly satisfaction survey), the committee receives the incident
// for review and dispatches the order, a volunteer accepts it; the committee runs a service project to done and
// the grid leader records a household's rating of it (民事民评); a building lead (楼栋长) of building 5 syncs
// its buildings' households and checks in at one door. The screenshots show what each phone holds
// afterwards.
package org.gridline.harness

import org.gridline.app.logic.CheckInResult
import org.gridline.app.logic.HouseholdPresenter
import org.gridline.app.logic.IncidentPresenter
import org.gridline.app.logic.OrderButton
import org.gridline.app.logic.OrdersPresenter
import org.gridline.app.logic.ProjectsPresenter
import org.gridline.app.logic.ScreenState
import org.gridline.app.logic.SurveyPresenter
import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.NewProject
import org.gridline.core.OrderAction
import org.gridline.core.ProjectStatus
import org.gridline.core.Severity
import org.gridline.ffi.GridlineStore
import org.gridline.testkit.Fixtures
import org.gridline.testkit.ServerFixture
import org.gridline.testkit.syncNow

/** The stores after the day, and the records the screens open. */
class FieldDay private constructor(
    private val server: ServerFixture,
    val leader: GridlineStore,
    val committee: GridlineStore,
    val volunteer: GridlineStore,
    val incidentId: String,
    val orderId: String,
    /** The done service project the grid leader's households rate. */
    val projectId: String,
    /** A building lead's phone, enrolled for building 5 of grid g1. */
    val buildingLead: GridlineStore,
) : AutoCloseable {
    override fun close() = server.close()

    companion object {
        /** Two buildings of one grid, with the special-care residents a grid leader visits most. */
        const val ROSTER = """grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes
g1,3,1,2,201,H-201,王秀英,F,1941,13800000001,,elderly_alone,独居
g1,3,1,3,301,H-301,陈桂兰,F,1948,13800000003,,seriously_ill;low_income,
g1,3,1,5,502,H-502,李建国,M,1950,13800000005,,disabled;empty_nest,
g1,3,1,5,502,H-502,张玉珍,F,1952,,,empty_nest,
g1,3,2,1,101,H-101,赵强,M,1985,13800000007,,,
g1,3,2,4,402,H-402,刘洋,M,2012,,,left_behind_child,随祖母生活
g1,5,1,6,601,H-601,周志明,M,1978,13800000009,,community_correction,
g1,5,1,1,102,H-102,吴敏,F,1990,,,,
"""

        /** A server with the roster, three phones enrolled, and the day's work synced between them. */
        fun run(): FieldDay {
            val server = ServerFixture.start(ROSTER)
            try {
                val leaderStore = server.enroll("王芳", "grid_leader", "g1").also { it.syncNow() }
                val committeeStore = server.enroll("李主任", "committee")
                val volunteerStore = server.enroll("志愿者甲", "volunteer")

                // The grid leader's rounds: a door check-in with a photo, a phone call that finds a problem.
                val h101 = HouseholdPresenter(leaderStore, "H-101")
                val (withPhoto, _) = h101.addPhoto(h101.newForm(), Fixtures.PNG)
                saved(h101.submit(withPhoto.withKind(CheckInKind.DOOR).withOutcome(CheckInOutcome.WELL).withNote("家中一切正常")))
                val h502 = HouseholdPresenter(leaderStore, "H-502")
                val problem = saved(
                    h502.submit(h502.newForm().withKind(CheckInKind.PHONE).withOutcome(CheckInOutcome.PROBLEM).withNote("楼道堆物堵住轮椅通道")),
                )
                val incident = loaded(
                    IncidentPresenter(leaderStore).report(
                        "safety_hazard", Severity.NORMAL, "5楼楼道堆放杂物",
                        "李建国家门口楼道堆满纸箱，轮椅无法通行，存在消防隐患。", "H-502", problem.checkInId,
                    ),
                )
                // A service for the elderly resident living alone.
                val orders = OrdersPresenter(leaderStore)
                val form = loaded(orders.requestForm("H-201"))
                val order = loaded(orders.request(form.withService("meal_delivery").withNote("每天中午送一份午饭，少盐")))
                // The yearly satisfaction survey of the household checked in at the door.
                val survey = SurveyPresenter(leaderStore)
                val surveyForm = loaded(survey.form("H-101")).let { f -> f.items.indices.fold(f) { acc, i -> acc.withAnswer(i, 3 + i % 3) } }
                loaded(survey.record(surveyForm))
                leaderStore.syncNow()

                // The committee receives the incident for review (its screen shows what it may do) and dispatches the
                // order to the volunteer.
                committeeStore.syncNow()
                val committeeOrders = OrdersPresenter(committeeStore)
                act(committeeOrders, order.orderId, OrderAction.DISPATCH) { it.withVolunteer("志愿者甲") }
                committeeStore.syncNow()

                // The volunteer accepts.
                volunteerStore.syncNow()
                act(OrdersPresenter(volunteerStore), order.orderId, OrderAction.ACCEPT) { it.withNote("明天中午送到") }
                volunteerStore.syncNow()

                // The committee runs a service project for the meals the visits found needed, to done.
                val project = committeeStore.projectCreate(
                    NewProject(
                        title = "独居老人助餐服务", category = "助老", organisation = "幸福里社工服务中心", budgetYuan = 20000uL,
                        needs = listOf("meal_delivery"), from = "2026-03-01", to = "2026-10-31",
                    ),
                )
                committeeStore.projectUpdate(project.projectId, ProjectStatus.ACTIVE, "社工机构进场")
                committeeStore.projectUpdate(project.projectId, ProjectStatus.DONE, "结项验收")
                committeeStore.syncNow()

                // The grid leader records a household's rating of it.
                leaderStore.syncNow()
                val projects = ProjectsPresenter(leaderStore)
                loaded(projects.rate(project.projectId, projects.form("H-502").withRating(4).withNote("饭菜可口，就是送得有点晚")))
                leaderStore.syncNow()
                committeeStore.syncNow()

                // The building lead of building 5 receives its households and checks in at one door.
                val leadStore = server.enroll("周楼长", "building_lead", listOf("g1"), listOf("5")).also { it.syncNow() }
                val h102 = HouseholdPresenter(leadStore, "H-102")
                saved(h102.submit(h102.newForm().withKind(CheckInKind.DOOR).withOutcome(CheckInOutcome.WELL).withNote("楼道灯已修好")))
                leadStore.syncNow()
                leaderStore.syncNow()
                return FieldDay(
                    server, leaderStore, committeeStore, volunteerStore, incident.incidentId, order.orderId, project.projectId, leadStore,
                )
            } catch (e: Throwable) {
                server.close()
                throw e
            }
        }

        private fun saved(result: CheckInResult): CheckInResult.Saved =
            result as? CheckInResult.Saved ?: error("check-in not saved: $result")

        private fun <T> loaded(state: ScreenState<T>?): T =
            (state as? ScreenState.Loaded)?.content ?: error("the store refused: $state")

        private fun act(orders: OrdersPresenter, id: String, action: OrderAction, edit: (org.gridline.app.logic.OrderActForm) -> org.gridline.app.logic.OrderActForm) {
            val (_, buttons) = loaded(orders.show(id))
            val button: OrderButton = buttons.singleOrNull { it.action == action } ?: error("$action is not offered: ${buttons.map { it.action }}")
            loaded(orders.act(id, edit(orders.form(button))))
        }
    }
}
