// Which tabs a device shows and which it opens on, by its role: a volunteer's device has no rounds, incidents
// or visits (its store holds none of them) and opens on its orders (我的服务单); a building lead's (楼栋长) has
// the grid roles' tabs over its buildings' households, which is all its store holds.
package org.gridline.app.logic

import org.gridline.core.Role

/** A bottom tab: its route and the string resource of its label. */
enum class Tab(val route: String, val labelKey: String) {
    ROUNDS("rounds", "tab_rounds"),
    INCIDENTS("incidents", "tab_incidents"),
    VISITS("visits", "tab_visits"),
    ORDERS("orders", "tab_orders"),
    MY_ORDERS("orders/mine", "tab_my_orders"),
    SYNC("sync", "tab_sync"),
}

object Home {
    /** The tabs of a device of `role`, in order; the first is where the app opens. */
    fun tabs(role: Role): List<Tab> = when (role) {
        Role.VOLUNTEER -> listOf(Tab.MY_ORDERS, Tab.SYNC)
        Role.GRID_LEADER, Role.GRID_WORKER, Role.BUILDING_LEAD, Role.SOCIAL_WORKER, Role.COMMITTEE, Role.STATION,
        Role.STREET, Role.ADMIN ->
            listOf(Tab.ROUNDS, Tab.INCIDENTS, Tab.VISITS, Tab.ORDERS, Tab.SYNC)
    }

    /** Where a device of `role` opens. */
    fun start(role: Role): Tab = tabs(role).first()
}
