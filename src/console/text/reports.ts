/** The reports page's text: wrong-block reports from the block page and their review. */
import { pageText } from './define.js';

export const reportsText = pageText({
  en: {
    'reports.title': 'Reports',
    'reports.tagline':
      'Visitors of the block page tell us when a site should not have been blocked. Review the open reports: allow the site, or reject the report. The reporter sees only the outcome.',
    'reports.show': 'Show',
    'reports.refresh': 'Refresh',
    'reports.open': 'Open',
    'reports.accepted': 'Accepted',
    'reports.rejected': 'Rejected',
    'reports.badge.open': 'open',
    'reports.badge.accepted': 'accepted',
    'reports.badge.rejected': 'rejected',
    'reports.count': '{shown} of {total} reports, newest first.',
    'reports.none': 'No reports here.',
    'reports.site': 'Site',
    'reports.hiddenSite': 'Not shown (abuse list)',
    'reports.category': 'Category',
    'reports.sent': 'Sent',
    'reports.message': "Reporter's message",
    'reports.reviewed': 'Reviewed',
    'reports.reviewedBy': '{who}, {time}',
    'reports.noteLabel': 'Note (optional, for the record)',
    'reports.allowVenue': 'Accept and allow for this venue',
    'reports.allowAll': 'Accept and allow for everyone',
    'reports.acceptOnly': 'Accept without allowing',
    'reports.reject': 'Reject',
    'reports.why': 'Why is it blocked?',
    'reports.abuse':
      "The abuse list is not the operator's to override: this site cannot be allowed here. Appeals go to the list's maintainer.",
    'reports.noVenueAllow':
      'This report came from a client of no venue: it can only be allowed for everyone.',
    'reports.readOnly': 'Your role can read reports; an operator reviews them.',
    'reports.done.venue': 'Allowed {name} for {venue}. The report is accepted.',
    'reports.done.all': 'Allowed {name} for everyone. The report is accepted.',
    'reports.done.accepted': 'Report accepted; nothing was allowed.',
    'reports.done.rejected': 'Report rejected; the site stays blocked.',
    'reports.error.ROJE_ERR_OVERRIDE_ABUSE':
      'Refused: the abuse list blocks this site, and nothing can allow it. Appeals go to the list’s maintainer.',
    'reports.error.ROJE_ERR_OVERRIDE_CONFLICT':
      'Refused: this site has a block entry for that venue. Remove it on the “Allow and deny” page first.',
    'reports.error.ROJE_ERR_STATS_REPORT_NOT_FOUND': 'That report is gone. The list has been refreshed.',
  },
  sq: {
    'reports.title': 'Raportimet',
    'reports.tagline':
      'Vizitorët e faqes së bllokimit na tregojnë kur një faqe nuk duhej bllokuar. Shqyrtoni raportimet e hapura: lejoni faqen ose refuzoni raportimin. Raportuesi sheh vetëm përfundimin.',
    'reports.show': 'Shfaq',
    'reports.refresh': 'Rifresko',
    'reports.open': 'Të hapura',
    'reports.accepted': 'Të pranuara',
    'reports.rejected': 'Të refuzuara',
    'reports.badge.open': 'e hapur',
    'reports.badge.accepted': 'e pranuar',
    'reports.badge.rejected': 'e refuzuar',
    'reports.count': '{shown} nga {total} raportime, më të rejat në krye.',
    'reports.none': 'Nuk ka raportime këtu.',
    'reports.site': 'Faqja',
    'reports.hiddenSite': 'Nuk shfaqet (lista e abuzimeve)',
    'reports.category': 'Kategoria',
    'reports.sent': 'Dërguar',
    'reports.message': 'Mesazhi i raportuesit',
    'reports.reviewed': 'Shqyrtuar',
    'reports.reviewedBy': '{who}, {time}',
    'reports.noteLabel': 'Shënim (opsional, për evidencë)',
    'reports.allowVenue': 'Prano dhe lejo për këtë vendndodhje',
    'reports.allowAll': 'Prano dhe lejo për të gjithë',
    'reports.acceptOnly': 'Prano pa lejuar',
    'reports.reject': 'Refuzo',
    'reports.why': 'Pse bllokohet?',
    'reports.abuse':
      'Lista e abuzimeve nuk është në dorë të operatorit: kjo faqe nuk mund të lejohet këtu. Ankesat shkojnë te mirëmbajtësi i listës.',
    'reports.noVenueAllow':
      'Ky raportim erdhi nga një klient pa vendndodhje: mund të lejohet vetëm për të gjithë.',
    'reports.readOnly': 'Roli juaj mund t’i lexojë raportimet; i shqyrton një operator.',
    'reports.done.venue': 'U lejua {name} për {venue}. Raportimi u pranua.',
    'reports.done.all': 'U lejua {name} për të gjithë. Raportimi u pranua.',
    'reports.done.accepted': 'Raportimi u pranua; nuk u lejua asgjë.',
    'reports.done.rejected': 'Raportimi u refuzua; faqja mbetet e bllokuar.',
    'reports.error.ROJE_ERR_OVERRIDE_ABUSE':
      'U refuzua: lista e abuzimeve e bllokon këtë faqe dhe asgjë nuk mund ta lejojë. Ankesat shkojnë te mirëmbajtësi i listës.',
    'reports.error.ROJE_ERR_OVERRIDE_CONFLICT':
      'U refuzua: kjo faqe ka një rregull bllokimi për atë vendndodhje. Hiqeni më parë te faqja “Lejo dhe blloko”.',
    'reports.error.ROJE_ERR_STATS_REPORT_NOT_FOUND': 'Ky raportim nuk ekziston më. Lista u rifreskua.',
  },
});
